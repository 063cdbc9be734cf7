#include "drivers/modbus/modbus_pdu.hpp"

#include <cstdio>
#include <utility>

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

void pack_bits(std::vector<std::uint8_t>& out, const std::vector<bool>& bits) {
    std::size_t nbytes = (bits.size() + 7) / 8;
    out.push_back(static_cast<std::uint8_t>(nbytes));
    for (std::size_t i = 0; i < nbytes; ++i) {
        std::uint8_t byte = 0;
        for (std::size_t j = 0; j < 8 && i * 8 + j < bits.size(); ++j)
            if (bits[i * 8 + j]) byte = static_cast<std::uint8_t>(byte | (1u << j));
        out.push_back(byte);
    }
}

// A transport has checked the length already; a PDU handed over without that check is refused
// rather than read past its end.
bool whole(std::span<const std::uint8_t> pdu, PduSize size, std::string& error) {
    if (size.status == PduSize::known && pdu.size() == size.length) return true;
    error = size.status == PduSize::invalid ? "unknown function code" : "PDU length does not match its function code";
    return false;
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

bool is_write_function(std::uint8_t function) {
    return function == fc::write_single_coil || function == fc::write_single_register ||
           function == fc::write_multiple_coils || function == fc::write_multiple_registers;
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

Request read_request(std::uint8_t unit, Table table, std::uint16_t address, std::uint16_t count) {
    return Request{unit, read_function(table), address, count, {}, {}};
}

Request write_request(std::uint8_t unit, Table table, std::uint16_t address, std::vector<std::uint16_t> words) {
    Request q{unit, 0, address, static_cast<std::uint16_t>(words.size()), {}, {}};
    if (table == Table::coil) {
        q.function = fc::write_single_coil;
        q.count = 1;
        q.bits = {!words.empty() && words[0] != 0};
    } else {
        q.function = words.size() == 1 ? fc::write_single_register : fc::write_multiple_registers;
        q.registers = std::move(words);
    }
    return q;
}

Request write_coils_request(std::uint8_t unit, std::uint16_t address, std::vector<bool> bits) {
    Request q{unit, fc::write_multiple_coils, address, static_cast<std::uint16_t>(bits.size()), {}, {}};
    q.bits = std::move(bits);
    return q;
}

std::vector<std::uint8_t> encode_request(const Request& q) {
    std::vector<std::uint8_t> out{q.function};
    put16(out, q.address);
    switch (q.function) {
        case fc::write_single_coil:
            put16(out, !q.bits.empty() && q.bits[0] ? 0xFF00 : 0x0000);  // the only two values the spec allows
            break;
        case fc::write_single_register:
            put16(out, q.registers.empty() ? 0 : q.registers[0]);
            break;
        case fc::write_multiple_coils:
            put16(out, static_cast<std::uint16_t>(q.bits.size()));
            pack_bits(out, q.bits);
            break;
        case fc::write_multiple_registers:
            put16(out, static_cast<std::uint16_t>(q.registers.size()));
            out.push_back(static_cast<std::uint8_t>(q.registers.size() * 2));
            for (std::uint16_t v : q.registers) put16(out, v);
            break;
        default:  // reads
            put16(out, q.count);
            break;
    }
    return out;
}

PduSize response_pdu_size(std::span<const std::uint8_t> b) {
    if (b.empty()) return {PduSize::need_more, 0};
    std::uint8_t f = b[0];
    if (f & 0x80) return (f & 0x7F) ? PduSize{PduSize::known, 2} : PduSize{PduSize::invalid, 0};
    switch (f) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
        case fc::read_holding_registers:
        case fc::read_input_registers:
            if (b.size() < 2) return {PduSize::need_more, 0};
            return {PduSize::known, 2u + b[1]};
        case fc::write_single_coil:
        case fc::write_single_register:
        case fc::write_multiple_coils:
        case fc::write_multiple_registers: return {PduSize::known, 5};
        default: return {PduSize::invalid, 0};
    }
}

PduSize request_pdu_size(std::span<const std::uint8_t> b) {
    if (b.empty()) return {PduSize::need_more, 0};
    switch (b[0]) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
        case fc::read_holding_registers:
        case fc::read_input_registers:
        case fc::write_single_coil:
        case fc::write_single_register: return {PduSize::known, 5};
        case fc::write_multiple_coils:
        case fc::write_multiple_registers:
            if (b.size() < 6) return {PduSize::need_more, 0};
            return {PduSize::known, 6u + b[5]};
        default: return {PduSize::invalid, 0};
    }
}

std::optional<Response> decode_response(std::uint8_t unit, std::span<const std::uint8_t> pdu, std::string& error) {
    if (!whole(pdu, response_pdu_size(pdu), error)) return std::nullopt;
    Response r;
    r.unit = unit;
    r.function = pdu[0] & 0x7F;
    if (pdu[0] & 0x80) {
        r.exception = true;
        r.exception_code = pdu[1];
        return r;
    }
    switch (r.function) {
        case fc::read_coils:
        case fc::read_discrete_inputs: {
            auto data = pdu.subspan(2);
            if (data.empty()) {
                error = "empty bit response";
                return std::nullopt;
            }
            r.bits = unpack_bits(data);
            break;
        }
        case fc::read_holding_registers:
        case fc::read_input_registers: {
            auto data = pdu.subspan(2);
            if (data.empty() || data.size() % 2 != 0) {
                error = "register response with an odd or zero byte count";
                return std::nullopt;
            }
            for (std::size_t i = 0; i < data.size(); i += 2) r.registers.push_back(get16(data, i));
            break;
        }
        default:  // write echoes
            r.address = get16(pdu, 1);
            r.value = get16(pdu, 3);
            break;
    }
    return r;
}

std::optional<Request> decode_request(std::uint8_t unit, std::span<const std::uint8_t> pdu, std::string& error) {
    if (!whole(pdu, request_pdu_size(pdu), error)) return std::nullopt;
    Request q;
    q.unit = unit;
    q.function = pdu[0];
    q.address = get16(pdu, 1);
    switch (q.function) {
        case fc::read_coils:
        case fc::read_discrete_inputs:
            q.count = get16(pdu, 3);
            if (q.count == 0 || q.count > kMaxReadBits) {
                error = "bit quantity out of range";
                return std::nullopt;
            }
            break;
        case fc::read_holding_registers:
        case fc::read_input_registers:
            q.count = get16(pdu, 3);
            if (q.count == 0 || q.count > kMaxReadRegisters) {
                error = "register quantity out of range";
                return std::nullopt;
            }
            break;
        case fc::write_single_coil: {
            std::uint16_t v = get16(pdu, 3);
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
            q.registers.push_back(get16(pdu, 3));
            break;
        case fc::write_multiple_coils: {
            q.count = get16(pdu, 3);
            if (q.count == 0 || q.count > kMaxWriteCoils || pdu[5] != (q.count + 7) / 8) {
                error = "coil quantity and byte count disagree";
                return std::nullopt;
            }
            q.bits = unpack_bits(pdu.subspan(6, pdu[5]));
            q.bits.resize(q.count);
            break;
        }
        case fc::write_multiple_registers:
            q.count = get16(pdu, 3);
            if (q.count == 0 || q.count > kMaxWriteRegisters || pdu[5] != q.count * 2) {
                error = "register quantity and byte count disagree";
                return std::nullopt;
            }
            for (std::size_t i = 0; i < q.count; ++i) q.registers.push_back(get16(pdu, 6 + 2 * i));
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
