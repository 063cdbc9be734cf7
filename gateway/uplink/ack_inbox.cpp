#include "gateway/uplink/ack_inbox.hpp"

namespace loopgate {

bool AckInbox::add(std::uint64_t id, bool delivered, bool may_wait) {
    std::lock_guard<std::mutex> lock(mutex_);
    acks_.push_back({id, delivered});
    queued_.store(acks_.size(), std::memory_order_release);
    bool wait = may_wait && delivered && !urgent_.load(std::memory_order_relaxed);
    if (wait || settle_posted_) return false;
    settle_posted_ = true;
    return true;
}

std::vector<Ack> AckInbox::take() {
    std::vector<Ack> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(acks_);
    queued_.store(0, std::memory_order_release);
    settle_posted_ = false;
    return out;
}

}  // namespace loopgate
