#pragma once
// Capped exponential backoff with jitter, for reconnecting to the broker and reopening ports.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace loopgate {

class Backoff {
public:
    Backoff(std::int64_t min_ms, std::int64_t max_ms, bool jitter)
        : min_ms_(min_ms), max_ms_(max_ms), jitter_(jitter), next_ms_(min_ms), rng_(std::random_device{}()) {}

    // The delay before the next attempt; each call doubles the following one up to the cap.
    std::chrono::milliseconds next() {
        std::int64_t base = next_ms_;
        next_ms_ = std::min(max_ms_, next_ms_ * 2);
        if (!jitter_) return std::chrono::milliseconds(base);
        // Full jitter over the upper half keeps a fleet of gateways from reconnecting in lockstep
        // after a broker restart, while never retrying faster than half the nominal delay.
        std::uniform_int_distribution<std::int64_t> spread(base / 2, base);
        return std::chrono::milliseconds(spread(rng_));
    }
    void reset() { next_ms_ = min_ms_; }

private:
    std::int64_t min_ms_, max_ms_;
    bool jitter_;
    std::int64_t next_ms_;
    std::mt19937_64 rng_;
};

}  // namespace loopgate
