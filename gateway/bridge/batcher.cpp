#include "gateway/bridge/batcher.hpp"

namespace loopgate {

bool Batcher::add(std::size_t readings, std::size_t bytes, Time now) {
    if (count_ == 0) opened_ = now;
    count_ += readings;
    bytes_ += bytes;
    return count_ >= config_.max_readings || bytes_ >= config_.max_bytes;
}

std::optional<Batcher::Time> Batcher::deadline() const {
    if (count_ == 0) return std::nullopt;
    return opened_ + std::chrono::milliseconds(config_.max_delay_ms);
}

void Batcher::reset() {
    count_ = 0;
    bytes_ = 0;
}

}  // namespace loopgate
