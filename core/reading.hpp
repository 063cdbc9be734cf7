#pragma once
// The normalized reading: what every driver produces and everything downstream consumes.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace loopgate {

enum class Quality { good, uncertain, bad };

using Value = std::variant<double, std::int64_t, bool, std::string>;

struct Reading {
    std::string device;
    std::string metric;
    Value value;
    std::string unit;
    Quality quality = Quality::good;
    std::string quality_reason;  // why quality is not good; empty when good
    std::optional<std::int64_t> source_time_ns;  // time the device says it measured, when the frame carries one
    std::int64_t receive_time_ns = 0;            // wall clock when the bytes arrived
    std::uint64_t sequence = 0;                  // per device, assigned by the bridge
    // Never held back by report by exception (gateway/report/): a write's read-back, which confirms it.
    bool always_report = false;
};

const char* quality_name(Quality q);

}  // namespace loopgate
