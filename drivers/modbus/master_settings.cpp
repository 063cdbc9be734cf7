#include "drivers/modbus/master_settings.hpp"

#include <string>

namespace loopgate::modbus {

std::chrono::milliseconds settings_duration(const ConfigNode& s, const char* key, std::int64_t def, std::int64_t lo, std::int64_t hi) {
    std::int64_t ms = s.millis(key, def);
    if (ms < lo || ms > hi)
        s.need(key).fail(std::string(key) + " must be between " + std::to_string(lo) + "ms and " + std::to_string(hi) + "ms");
    return std::chrono::milliseconds(ms);
}

MasterSettings parse_master_settings(const ConfigNode& s, std::chrono::milliseconds default_response_timeout) {
    MasterSettings out;
    out.response_timeout = settings_duration(s, "response_timeout", default_response_timeout.count(), 1, 60'000);
    out.turnaround_delay = settings_duration(s, "turnaround_delay", 100, 0, 60'000);
    out.retries = static_cast<int>(s.integer("retries", 0, 10, 1));
    out.max_gap = static_cast<std::uint16_t>(s.integer("max_gap", 0, kMaxReadRegisters - 1, 10));
    out.max_bit_gap = static_cast<std::uint16_t>(s.integer("max_bit_gap", 0, kMaxReadBits - 1, 64));
    out.offline_after = static_cast<int>(s.integer("offline_after", 1, 1000, 3));
    return out;
}

}  // namespace loopgate::modbus
