#pragma once
// When the catalog goes out again: soon after a change, but at most once per interval, so a device
// that flaps online/offline or a talker inventing names cannot turn the retained catalog into a
// stream. Pure, on a time the caller passes (tests use a fake clock).

#include <chrono>
#include <optional>

namespace loopgate {

class CatalogPacer {
public:
    using Time = std::chrono::steady_clock::time_point;
    explicit CatalogPacer(std::chrono::milliseconds min_interval) : min_interval_(min_interval) {}

    // Something in the catalog may have changed.
    void changed() { pending_ = true; }
    // When to publish: none while nothing is pending; otherwise now, or once the interval since the
    // last publish has passed.
    std::optional<Time> due(Time now) const {
        if (!pending_) return std::nullopt;
        if (!last_ || now >= *last_ + min_interval_) return now;
        return *last_ + min_interval_;
    }
    // A publish went out (whether or not its content differed): pending ends, the interval starts.
    void published(Time now) {
        pending_ = false;
        last_ = now;
    }
    bool pending() const { return pending_; }

private:
    std::chrono::milliseconds min_interval_;
    bool pending_ = false;
    std::optional<Time> last_;
};

}  // namespace loopgate
