#pragma once
// Boxes without a real-time clock boot with a wrong wall clock until NTP steps it. Readings taken
// before the clock is synchronized are flagged (quality uncertain, reason "clock not synchronized"),
// and once it is, the step is measured against the monotonic clock, so their receive times can be
// corrected when they are published.

#include <chrono>
#include <cstdint>
#include <string>

namespace loopgate {

class ClockWatch {
public:
    // `source`: "none" (trust the clock), "kernel" (adjtimex: STA_UNSYNC cleared by an NTP
    // client), or a path whose existence means synchronized (systemd-timesyncd writes
    // /run/systemd/timesync/synchronized).
    explicit ClockWatch(std::string source);

    // Cheap to call per read: the source is consulted at most once a second.
    bool synchronized();
    // The step applied to the wall clock when it became synchronized (0 until then, and when the
    // clock was trusted from the start).
    std::int64_t correction_ns() const { return correction_ns_; }
    // True once the clock went from unsynchronized to synchronized while running.
    bool became_synchronized() const { return synced_at_ns_ != 0; }
    // Wall time (after the step) when synchronization was first seen.
    std::int64_t synced_at_ns() const { return synced_at_ns_; }

private:
    bool check() const;
    static std::int64_t wall_minus_mono();

    std::string source_;
    bool synced_;
    std::chrono::steady_clock::time_point next_check_{};
    std::int64_t offset_while_unsynced_ = 0;
    std::int64_t correction_ns_ = 0;
    std::int64_t synced_at_ns_ = 0;
};

}  // namespace loopgate
