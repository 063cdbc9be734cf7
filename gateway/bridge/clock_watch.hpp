#pragma once
// Boxes without a real-time clock boot with a wrong wall clock until NTP steps it. Readings taken
// before the clock is synchronized are flagged (quality uncertain, reason "clock not synchronized"),
// and once it is, the step is measured against the monotonic clock, so that the bridge can correct
// their receive times in the store before they are published.

#include <chrono>
#include <cstdint>
#include <string>

namespace loopgate {

// systemd-timesyncd creates this file once it has synchronized the clock.
inline constexpr const char* kTimesyncFlag = "/run/systemd/timesync/synchronized";

// What the status document and the metrics say about the clock: the state of the process's
// ClockWatch, as last seen.
struct ClockState {
    std::string source = "none";  // as configured
    bool synchronized = true;
    std::string problem;          // non-empty when the configured source cannot be consulted
};
ClockState clock_state();

class ClockWatch {
public:
    // `source`: "none" (trust the clock), "kernel" (adjtimex: STA_UNSYNC cleared by an NTP
    // client), or a path whose existence means synchronized (systemd-timesyncd writes
    // /run/systemd/timesync/synchronized).
    //
    // Under the packaged unit (ProtectClock=yes, SystemCallFilter=~@clock) adjtimex() fails with
    // EPERM even for reading. Then "kernel" cannot know: the failure is logged once as an error
    // naming the cause, the clock counts as NOT synchronized, and the watch falls back to
    // kTimesyncFlag, which the sandbox does not hide.
    explicit ClockWatch(std::string source);

    // Cheap to call per read: the source is consulted at most once a second.
    bool synchronized();
    // The step applied to the wall clock when it became synchronized (0 until then, and when the
    // clock was trusted from the start).
    std::int64_t correction_ns() const { return correction_ns_; }

private:
    bool check();
    void publish() const;
    static std::int64_t wall_minus_mono();

    std::string source_;
    std::string problem_;  // why the configured source could not be consulted
    bool synced_;
    std::chrono::steady_clock::time_point next_check_{};
    std::int64_t offset_while_unsynced_ = 0;
    std::int64_t correction_ns_ = 0;
};

}  // namespace loopgate
