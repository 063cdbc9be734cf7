#include "gateway/bridge/replay_pacer.hpp"

#include <algorithm>

namespace loopgate {

void ReplayPacer::restart(Time now) {
    tokens_ = 0;
    refilled_ = now;
}

std::optional<std::chrono::milliseconds> ReplayPacer::take(std::size_t readings, Time now) {
    double want = static_cast<double>(readings);
    if (rate_ > 0) {
        tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - refilled_).count());
        refilled_ = now;
        double needed = std::min(want, rate_);
        if (tokens_ < needed)
            return std::chrono::milliseconds(static_cast<long>((needed - tokens_) / rate_ * 1000) + 1);
    }
    tokens_ -= want;
    return std::nullopt;
}

}  // namespace loopgate
