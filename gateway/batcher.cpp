#include "gateway/batcher.hpp"

#include "gateway/payload.hpp"

namespace loopgate {

bool Batcher::add(Reading reading, Time now) {
    if (readings_.empty()) opened_ = now;
    bytes_ += estimated_size(reading);
    readings_.push_back(std::move(reading));
    return readings_.size() >= config_.max_readings || bytes_ >= config_.max_bytes;
}

std::optional<Batcher::Time> Batcher::deadline() const {
    if (readings_.empty()) return std::nullopt;
    return opened_ + std::chrono::milliseconds(config_.max_delay_ms);
}

std::vector<Reading> Batcher::take() {
    std::vector<Reading> out;
    out.swap(readings_);
    readings_.reserve(out.size());
    bytes_ = 0;
    return out;
}

}  // namespace loopgate
