#pragma once
// The bridge's batching rule: a batch closes when it holds max_readings readings, or max_bytes of
// payload, or when its first reading has waited max_delay, whichever comes first.
// Pure: the caller supplies sizes and time, so the rule is unit-tested without clocks. The readings
// themselves go straight to the store as they arrive (see Store), so nothing here holds data.

#include <chrono>
#include <cstddef>
#include <optional>

#include "gateway/config.hpp"

namespace loopgate {

class Batcher {
public:
    using Time = std::chrono::steady_clock::time_point;

    explicit Batcher(const BatchConfig& config) : config_(config) {}

    // How many more readings the open batch takes before it is full by count.
    std::size_t room() const { return config_.max_readings - count_; }
    // Accounts readings added to the batch; returns true when the batch is full and must close now.
    bool add(std::size_t readings, std::size_t bytes, Time now);
    bool empty() const { return count_ == 0; }
    std::size_t size() const { return count_; }
    // The latest time the open batch may be closed; none while empty.
    std::optional<Time> deadline() const;
    void reset();

private:
    BatchConfig config_;
    std::size_t count_ = 0;
    std::size_t bytes_ = 0;
    Time opened_{};
};

}  // namespace loopgate
