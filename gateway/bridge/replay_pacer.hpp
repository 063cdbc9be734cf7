#pragma once
// store.replay_rate as a token bucket: the backlog drains at most `rate` readings a second after an
// outage, so the broker and its subscribers are not flooded while live data keeps flowing. The
// bucket holds at most one second's worth and starts empty when the uplink comes up. A batch larger
// than a second's worth goes once the bucket is full and leaves it in debt, so the long-run rate
// still holds. Pure: the caller supplies the time.

#include <chrono>
#include <cstddef>
#include <optional>

namespace loopgate {

class ReplayPacer {
public:
    using Time = std::chrono::steady_clock::time_point;

    // rate <= 0: no pacing, every batch may go at once.
    explicit ReplayPacer(double readings_per_second) : rate_(readings_per_second) {}

    // The uplink came up: the replay starts from an empty bucket.
    void restart(Time now);
    // Takes the tokens of a batch of `readings` and returns nothing when it may go now; otherwise
    // takes nothing and returns how long until it may (the caller arms a timer for that long).
    std::optional<std::chrono::milliseconds> take(std::size_t readings, Time now);

private:
    double rate_;
    double tokens_ = 0;
    Time refilled_{};
};

}  // namespace loopgate
