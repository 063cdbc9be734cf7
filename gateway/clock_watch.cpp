#include "gateway/clock_watch.hpp"

#include <sys/timex.h>
#include <unistd.h>

#include "gateway/log.hpp"

namespace loopgate {

ClockWatch::ClockWatch(std::string source) : source_(std::move(source)) {
    synced_ = source_ == "none" || check();
    offset_while_unsynced_ = wall_minus_mono();
    if (!synced_) log::warning("clock: not synchronized (", source_, "); readings are flagged until it is");
}

std::int64_t ClockWatch::wall_minus_mono() {
    auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
    auto mono = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch());
    return (wall - mono).count();
}

bool ClockWatch::check() const {
    if (source_ == "kernel") {
        timex tx{};
        int state = ::adjtimex(&tx);
        return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
    }
    return ::access(source_.c_str(), F_OK) == 0;
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
    correction_ns_ = wall_minus_mono() - offset_while_unsynced_;
    synced_at_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    log::info("clock: synchronized; the wall clock moved by ", static_cast<double>(correction_ns_) / 1e9,
              " s; earlier readings are corrected as they are published");
    return true;
}

}  // namespace loopgate
