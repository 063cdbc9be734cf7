#pragma once
// The `settings:` keys every Modbus master has, for the modbus-rtu and modbus-tcp drivers alike.

#include <chrono>
#include <cstdint>

#include "core/config_node.hpp"
#include "drivers/modbus/modbus_master.hpp"

namespace loopgate::modbus {

// response_timeout, turnaround_delay, retries, max_gap, max_bit_gap, offline_after; the caller
// checks which keys it allows.
MasterSettings parse_master_settings(const ConfigNode& settings, std::chrono::milliseconds default_response_timeout);
// A duration setting in lo..hi milliseconds, with an error at the key otherwise.
std::chrono::milliseconds settings_duration(const ConfigNode& settings, const char* key, std::int64_t def,
                                            std::int64_t lo, std::int64_t hi);

}  // namespace loopgate::modbus
