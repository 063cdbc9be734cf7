#include "sim/fake_modbus_slave.hpp"

#include <cmath>
#include <cstring>

#include "drivers/modbus_rtu/crc16.hpp"

namespace loopgate::commands {

namespace {

constexpr std::uint8_t illegal_function = 1, illegal_address = 2;
constexpr std::uint16_t input_count = 16;  // 8 float32 values

// Bytes a request needs, once its first bytes are known; 0 while unknown.
std::size_t request_length(std::span<const std::uint8_t> b) {
    if (b.size() < 2) return 0;
    switch (b[1]) {
        case 1: case 2: case 3: case 4: case 5: case 6: return 8;
        case 15: case 16: return b.size() < 7 ? 0 : 9 + b[6];
        default: return 4;  // unknown function: unit, function, CRC
    }
}

std::vector<std::uint8_t> exception(std::uint8_t unit, std::uint8_t function, std::uint8_t code) {
    std::vector<std::uint8_t> out{unit, static_cast<std::uint8_t>(function | 0x80), code};
    modbus::append_crc(out);
    return out;
}

}  // namespace

std::uint16_t FakeModbusSlave::input_register(std::uint16_t address, double t) const {
    // A three-phase meter's first values: voltage, current, power, frequency...
    const float values[input_count / 2] = {
        static_cast<float>(230.0 + 2.0 * std::sin(t / 7)),  static_cast<float>(5.0 + 1.5 * std::sin(t / 11)),
        static_cast<float>(1150.0 + 300.0 * std::sin(t / 11)), static_cast<float>(50.0 + 0.02 * std::sin(t / 3)),
        static_cast<float>(0.95),                               static_cast<float>(1234.5 + t / 3600.0),
        static_cast<float>(21.0 + std::sin(t / 60)),            static_cast<float>(0)};
    std::uint32_t bits = 0;
    std::memcpy(&bits, &values[address / 2], sizeof bits);
    return address % 2 == 0 ? static_cast<std::uint16_t>(bits >> 16) : static_cast<std::uint16_t>(bits & 0xffff);
}

std::vector<std::uint8_t> FakeModbusSlave::answer(std::span<const std::uint8_t> req, double t) {
    std::uint8_t fn = req[1];
    auto word = [&](std::size_t i) { return static_cast<std::uint16_t>(req[i] << 8 | req[i + 1]); };
    std::vector<std::uint8_t> out{unit_, fn};
    switch (fn) {
        case 3:
        case 4: {
            std::uint16_t start = word(2), count = word(4);
            std::size_t limit = fn == 4 ? input_count : holding_.size();
            if (count == 0 || count > 125 || start + count > limit) return exception(unit_, fn, illegal_address);
            out.push_back(static_cast<std::uint8_t>(2 * count));
            for (std::uint16_t a = start; a < start + count; ++a) {
                std::uint16_t v = fn == 4 ? input_register(a, t) : holding_[a];
                out.push_back(static_cast<std::uint8_t>(v >> 8));
                out.push_back(static_cast<std::uint8_t>(v & 0xff));
            }
            break;
        }
        case 6: {
            if (word(2) >= holding_.size()) return exception(unit_, fn, illegal_address);
            holding_[word(2)] = word(4);
            out.assign(req.begin(), req.begin() + 6);  // a write is answered with its echo
            break;
        }
        case 16: {
            std::uint16_t start = word(2), count = word(4);
            if (start + count > holding_.size() || req[6] != 2 * count) return exception(unit_, fn, illegal_address);
            for (std::uint16_t i = 0; i < count; ++i) holding_[start + i] = word(7 + 2 * i);
            out.assign(req.begin(), req.begin() + 6);
            break;
        }
        default:
            return exception(unit_, fn, illegal_function);
    }
    modbus::append_crc(out);
    return out;
}

std::vector<std::uint8_t> FakeModbusSlave::feed(std::span<const std::uint8_t> bytes, double t) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    std::vector<std::uint8_t> replies;
    while (true) {
        std::size_t need = request_length(pending_);
        if (need == 0 || pending_.size() < need) break;
        std::span<const std::uint8_t> frame(pending_.data(), need);
        if (!modbus::crc_ok(frame)) {
            pending_.erase(pending_.begin());  // noise: slide one byte and look again
            continue;
        }
        if (frame[0] == unit_) {
            auto reply = answer(frame, t);
            replies.insert(replies.end(), reply.begin(), reply.end());
        }
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(need));
    }
    if (pending_.size() > 512) pending_.clear();
    return replies;
}

}  // namespace loopgate::commands
