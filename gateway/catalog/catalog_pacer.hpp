#pragma once
// When the catalog goes out again: soon after a change, but at most once per interval, so a device
// that flaps online/offline or a talker inventing names cannot turn the retained catalog into a
// stream. A large catalog (an AIS receiver's hundreds of vessels) waits longer: on average it takes
// no more than `bytes_per_second` of the uplink, which may be a metered cellular link.
// Pure, on a time the caller passes (tests use a fake clock).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>

namespace loopgate {

class CatalogPacer {
public:
    using Time = std::chrono::steady_clock::time_point;
    explicit CatalogPacer(std::chrono::milliseconds min_interval, std::size_t bytes_per_second = 2048)
        : min_interval_(min_interval), bytes_per_second_(bytes_per_second), interval_(min_interval) {}

    // Something in the catalog may have changed.
    void changed() { pending_ = true; }
    // When to publish: none while nothing is pending; otherwise now, or once the interval since the
    // last publish has passed.
    std::optional<Time> due(Time now) const {
        if (!pending_) return std::nullopt;
        if (!last_ || now >= *last_ + interval_) return now;
        return *last_ + interval_;
    }
    // A catalog of `bytes` went out (or was found unchanged: 0 bytes sent): pending ends, the
    // interval starts.
    void published(Time now, std::size_t bytes = 0) {
        pending_ = false;
        last_ = now;
        interval_ = std::max(min_interval_, std::chrono::milliseconds(bytes * 1000 / bytes_per_second_));
    }
    std::chrono::milliseconds interval() const { return interval_; }
    bool pending() const { return pending_; }

private:
    std::chrono::milliseconds min_interval_;
    std::size_t bytes_per_second_;
    std::chrono::milliseconds interval_;
    bool pending_ = false;
    std::optional<Time> last_;
};

}  // namespace loopgate
