#pragma once
// The bridge's batching rule: a batch closes when it holds max_readings readings, or max_bytes of
// (estimated) payload, or when its oldest reading has waited max_delay, whichever comes first.
// Pure: the caller supplies the time, so the rule is unit-tested without clocks.

#include <chrono>
#include <optional>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/reading.hpp"

namespace loopgate {

class Batcher {
public:
    using Time = std::chrono::steady_clock::time_point;

    explicit Batcher(const BatchConfig& config) : config_(config) {}

    // Returns true when the batch is full and must be closed now.
    bool add(Reading reading, Time now);
    bool empty() const { return readings_.empty(); }
    std::size_t size() const { return readings_.size(); }
    // The latest time the open batch may be closed; none while empty.
    std::optional<Time> deadline() const;
    std::vector<Reading> take();

private:
    BatchConfig config_;
    std::vector<Reading> readings_;
    std::size_t bytes_ = 0;
    Time opened_{};
};

}  // namespace loopgate
