#include "gateway/bridge/clock_watch.hpp"

#include <sys/timex.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/log.hpp"

namespace loopgate {

namespace {
std::mutex state_mutex;
ClockState last_state;
}  // namespace

ClockState clock_state() {
    std::lock_guard lock(state_mutex);
    return last_state;
}

void ClockWatch::publish() const {
    std::lock_guard lock(state_mutex);
    last_state = ClockState{source_, synced_, problem_};
}

ClockWatch::ClockWatch(std::string source) : source_(std::move(source)) {
    synced_ = source_ == "none" || check();
    offset_while_unsynced_ = wall_minus_mono();
    if (!synced_) log::warning("clock: not synchronized (", source_, "); readings are flagged until it is");
    publish();
}

std::int64_t ClockWatch::wall_minus_mono() {
    auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
    auto mono = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch());
    return (wall - mono).count();
}

bool ClockWatch::check() {
    if (source_ == "kernel" && problem_.empty()) {
        timex tx{};
        int state = ::adjtimex(&tx);
        if (state != -1) return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
        // -1 is no clock state: with tx untouched, reading it would claim "synchronized".
        int error = errno;
        problem_ = std::string("adjtimex() failed: ") + std::strerror(error) +
                   (error == EPERM ? " (the service sandbox forbids it: systemd ProtectClock=yes or "
                                     "SystemCallFilter=~@clock)"
                                   : "");
        log::error("clock: ", problem_, "; clock_sync: kernel cannot tell whether the clock is synchronized, so it "
                   "counts as NOT synchronized and readings are flagged until ", kTimesyncFlag,
                   " exists; set gateway.clock_sync: ", kTimesyncFlag, " to say so");
    }
    return ::access(source_ == "kernel" ? kTimesyncFlag : source_.c_str(), F_OK) == 0;
}

bool ClockWatch::synchronized() {
    if (synced_) return true;
    auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return false;
    next_check_ = now + std::chrono::seconds(1);
    if (!check()) {
        offset_while_unsynced_ = wall_minus_mono();
        return false;
    }
    synced_ = true;
    publish();
    correction_ns_ = wall_minus_mono() - offset_while_unsynced_;
    log::info("clock: synchronized; the wall clock moved by ", static_cast<double>(correction_ns_) / 1e9,
              " s; the receive times of earlier readings still stored are corrected");
    return true;
}

}  // namespace loopgate
