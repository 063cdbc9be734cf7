#include "drivers/modbus_rtu/modbus_pdu.hpp"

#include <cstdio>
#include <utility>

#include "drivers/modbus_rtu/crc16.hpp"

namespace loopgate::modbus {

namespace {

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

std::vector<bool> unpack_bits(std::span<const std::uint8_t> data) {
    std::vector<bool> bits;
    bits.reserve(data.size() * 8);
    for (std::uint8_t byte : data)
        for (int i = 0; i < 8; ++i) bits.push_back(((byte >> i) & 1) != 0);
    return bits;
}

// How a failed whole-frame check is worded. Requests and responses keep their own wording (a request
// has a single "wrong request length"); "bad CRC" is shared because the driver counts it by its text.
struct FrameErrors {
    const char* invalid;
    const char* truncated;
    const char* overlong;
};

// The checks every ADU passes before its fields are read: the length its function code implies
// (RTU has no length field) and the CRC. Empty when the frame is whole.
std::optional<std::string> frame_error(std::span<const std::uint8_t> adu, FrameSize size, const FrameErrors& say) {
    if (size.status == FrameSize::invalid) return say.invalid;
    if (size.status == FrameSize::need_more || adu.size() < size.length) return say.truncated;
    if (adu.size() > size.length) return say.overlong;
    if (!crc_ok(adu)) return "bad CRC";
    return std::nullopt;
}

}  // namespace

const char* table_name(Table t) {
    switch (t) {
        case Table::coil: return "coil";
        case Table::discrete_input: return "discrete_input";
        case Table::holding: return "holding";
        case Table::input: return "input";
    }
    return "?";
}

std::uint8_t read_function(Table t) {
    switch (t) {
        case Table::coil: return fc::read_coils;
        case Table::discrete_input: return fc::read_discrete_inputs;
        case Table::holding: return fc::read_holding_registers;
        case Table::input: return fc::read_input_registers;
    }
    return 0;
}

std::optional<Table> table_of_function(std::uint8_t function) {
    switch (function) {
        case fc::read_coils:
        case fc::write_single_coil:
        case fc::write_multiple_coils: return Table::coil;
        case fc::read_discrete_inputs: return Table::discrete_input;
        case fc::read_holding_registers:
        case fc::write_single_register:
        case fc::write_multiple_registers: return Table::holding;
        case fc::read_input_registers: return Table::input;
        default: return std::nullopt;
    }
}

std::string exception_name(std::uint8_t code) {
    switch (code) {
        case 0x01: return "ILLEGAL_FUNCTION";
        case 0x02: return "ILLEGAL_DATA_ADDRESS";
        case 0x03: return "ILLEGAL_DATA_VALUE";
        case 0x04: return "SERVER_DEVICE_FAILURE";
        case 0x05: return "ACKNOWLEDGE";
        case 0x06: return "SERVER_DEVICE_BUSY";
        case 0x08: return "MEMORY_PARITY_ERROR";
        case 0x0A: return "GATEWAY_PATH_UNAVAILABLE";
        case 0x0B: return "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND";
        default: {
            char buf[24];
            std::snprintf(buf, sizeof buf, "EXCEPTION_0x%02X", code);
            return buf;
        }
    }
}

std::vector<std::uint8_t> build_read_request(std::uint8_t unit, Table table, std::uint16_t address, std::uint16_t count) {
    std::vector<std::uint8_t> out{unit, read_function(table)};
    put16(out, address);
    put16(out, count);
    append_crc(out);
    return out;
}

std::vector<std::uint8_t> build_write_single_coil(std::uint8_t unit, std::uint16_t address, bool on) {
    std::vector<std::uint8_t> out{unit, fc::write_single_coil};
    put16(out, address);
    put16(out, on ? 0xFF00 : 0x0000);  // the only two values the spec allows
    append_crc(out);
    return out;
}

std::vector<std::uint8_t> build_write_single_register(std::uint8_t unit, std::uint16_t address, std::uint16_t value) {
    std::vector<std::uint8_t> out{unit, fc::write_single_register};
    put16(out, address);
    put16(out, value);
    append_crc(out);
    return out;
}

std::vector<std::uint8_t> build_write_multiple_coils(std::uint8_t unit, std::uint16_t address, const std::vector<bool>& bits) {
    std::vector<std::uint8_t> out{unit, fc::write_multiple_coils};
    put16(out, address);
    put16(out, static_cast<std::uint16_t>(bits.size()));
    std::size_t nbytes = (bits.size() + 7) / 8;
    out.push_back(static_cast<std::uint8_t>(nbytes));
    for (std::size_t i = 0; i < nbytes; ++i) {
        std::uint8_t byte = 0;
        for (std::size_t j = 0; j < 8 && i * 8 + j < bits.size(); ++j)
            if (bits[i * 8 + j]) byte = static_cast<std::uint8_t>(byte | (1u << j));
        out.push_back(byte);
    }
    append_crc(out);
    return out;
}

std::vector<std::uint8_t> build_write_multiple_registers(std::uint8_t unit, std::uint16_t address,
                                                         std::span<const std::uint16_t> values) {
    std::vector<std::uint8_t> out{unit, fc::write_multiple_registers};
    put16(out, address);
    put16(out, static_cast<std::uint16_t>(values.size()));
    out.push_back(static_cast<std::uint8_t>(values.size() * 2));
    for (std::uint16_t v : values) put16(out, v);
    append_crc(out);
    return out;
}

FrameSize response_size(std::span<const std::uint8_t> b) {
    if (b.size() < 2) return {FrameSize::need_more, 0};
    if (b[0] > kMaxUnit) return {FrameSize::invalid, 0};  // a slave never answers a broadcast
    std::uint8_t f = b[1];
    if (f & 0x80) return (f & 0x7F) ? FrameSize{FrameSize::known, 5} : FrameSize{FrameSize::invalid, 0};
    switch (f) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
        case fc::read_holding_registers:
        case fc::read_input_registers:
            if (b.size() < 3) return {FrameSize::need_more, 0};
            return {FrameSize::known, 5u + b[2]};
        case fc::write_single_coil:
        case fc::write_single_register:
        case fc::write_multiple_coils:
        case fc::write_multiple_registers: return {FrameSize::known, 8};
        default: return {FrameSize::invalid, 0};
    }
}

FrameSize request_size(std::span<const std::uint8_t> b) {
    if (b.size() < 2) return {FrameSize::need_more, 0};
    if (b[0] > kMaxUnit) return {FrameSize::invalid, 0};
    switch (b[1]) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
        case fc::read_holding_registers:
        case fc::read_input_registers:
        case fc::write_single_coil:
        case fc::write_single_register: return {FrameSize::known, 8};
        case fc::write_multiple_coils:
        case fc::write_multiple_registers:
            if (b.size() < 7) return {FrameSize::need_more, 0};
            return {FrameSize::known, 9u + b[6]};
        default: return {FrameSize::invalid, 0};
    }
}

std::optional<Response> parse_response(std::span<const std::uint8_t> adu, std::string& error) {
    const char* invalid = adu.size() >= 2 && adu[0] > kMaxUnit ? "unit id out of range" : "unknown function code";
    if (auto why = frame_error(adu, response_size(adu),
                               {invalid, "truncated frame", "frame longer than its function code allows"})) {
        error = std::move(*why);
        return std::nullopt;
    }
    Response r;
    r.unit = adu[0];
    r.function = adu[1] & 0x7F;
    if (adu[1] & 0x80) {
        r.exception = true;
        r.exception_code = adu[2];
        return r;
    }
    auto data = adu.subspan(3, adu.size() - 5);
    switch (r.function) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
            if (data.empty()) {
                error = "empty bit response";
                return std::nullopt;
            }
            r.bits = unpack_bits(data);
            break;
        case fc::read_holding_registers:
        case fc::read_input_registers:
            if (data.empty() || data.size() % 2 != 0) {
                error = "register response with an odd or zero byte count";
                return std::nullopt;
            }
            for (std::size_t i = 0; i < data.size(); i += 2) r.registers.push_back(get16(data, i));
            break;
        default:  // write echoes
            r.address = get16(adu, 2);
            r.value = get16(adu, 4);
            break;
    }
    return r;
}

std::optional<Request> parse_request(std::span<const std::uint8_t> adu, std::string& error) {
    if (auto why = frame_error(adu, request_size(adu), {"not a request", "wrong request length", "wrong request length"})) {
        error = std::move(*why);
        return std::nullopt;
    }
    Request q;
    q.unit = adu[0];
    q.function = adu[1];
    q.address = get16(adu, 2);
    switch (q.function) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
            q.count = get16(adu, 4);
            if (q.count == 0 || q.count > kMaxReadBits) {
                error = "bit quantity out of range";
                return std::nullopt;
            }
            break;
        case fc::read_holding_registers:
        case fc::read_input_registers:
            q.count = get16(adu, 4);
            if (q.count == 0 || q.count > kMaxReadRegisters) {
                error = "register quantity out of range";
                return std::nullopt;
            }
            break;
        case fc::write_single_coil: {
            std::uint16_t v = get16(adu, 4);
            if (v != 0xFF00 && v != 0x0000) {
                error = "single coil value other than FF00/0000";
                return std::nullopt;
            }
            q.count = 1;
            q.bits.push_back(v == 0xFF00);
            break;
        }
        case fc::write_single_register:
            q.count = 1;
            q.registers.push_back(get16(adu, 4));
            break;
        case fc::write_multiple_coils: {
            q.count = get16(adu, 4);
            if (q.count == 0 || q.count > kMaxWriteCoils || adu[6] != (q.count + 7) / 8) {
                error = "coil quantity and byte count disagree";
                return std::nullopt;
            }
            q.bits = unpack_bits(adu.subspan(7, adu[6]));
            q.bits.resize(q.count);
            break;
        }
        case fc::write_multiple_registers:
            q.count = get16(adu, 4);
            if (q.count == 0 || q.count > kMaxWriteRegisters || adu[6] != q.count * 2) {
                error = "register quantity and byte count disagree";
                return std::nullopt;
            }
            for (std::size_t i = 0; i < q.count; ++i) q.registers.push_back(get16(adu, 7 + 2 * i));
            break;
    }
    return q;
}

bool response_matches(const Request& q, const Response& r, std::string& error) {
    if (r.unit != q.unit) {
        error = "reply from the wrong unit";
        return false;
    }
    if (r.function != q.function) {
        error = "reply to another function code";
        return false;
    }
    if (r.exception) return true;
    switch (q.function) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
            if (r.bits.size() / 8 != (q.count + 7u) / 8) {
                error = "byte count does not match the quantity asked for";
                return false;
            }
            return true;
        case fc::read_holding_registers:
        case fc::read_input_registers:
            if (r.registers.size() != q.count) {
                error = "register count does not match the quantity asked for";
                return false;
            }
            return true;
        case fc::write_single_coil:
            if (r.address != q.address || r.value != (q.bits.at(0) ? 0xFF00 : 0x0000)) {
                error = "write echo differs from the request";
                return false;
            }
            return true;
        case fc::write_single_register:
            if (r.address != q.address || r.value != q.registers.at(0)) {
                error = "write echo differs from the request";
                return false;
            }
            return true;
        default:
            if (r.address != q.address || r.value != q.count) {
                error = "write echo differs from the request";
                return false;
            }
            return true;
    }
}

}  // namespace loopgate::modbus
