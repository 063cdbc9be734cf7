#include "gateway/ops/log_ring.hpp"

#include "core/clock.hpp"

namespace loopgate {

LogRing& LogRing::process() {
    static LogRing ring;
    return ring;
}

void LogRing::install() {
    log::set_observer([](log::Level level, const std::string& text) { process().push(level, text); });
}

void LogRing::push(log::Level level, const std::string& text) {
    std::lock_guard lock(mutex_);
    if (lines_.size() == capacity) lines_.pop_front();
    lines_.push_back({next_number_++, wall_now_ns(), level, text});
}

std::vector<LogLine> LogRing::since(std::uint64_t after) const {
    std::lock_guard lock(mutex_);
    std::vector<LogLine> out;
    for (const LogLine& line : lines_)
        if (line.number > after) out.push_back(line);
    return out;
}

std::uint64_t LogRing::last_number() const {
    std::lock_guard lock(mutex_);
    return next_number_ - 1;
}

}  // namespace loopgate
