#include "gateway/ops/login_throttle.hpp"

#include <algorithm>

namespace loopgate {

void LoginThrottle::expire(Clock::time_point now) {
    if (now < next_expiry_) return;
    next_expiry_ = Clock::time_point::max();
    for (auto it = entries_.begin(); it != entries_.end();) {
        const Entry& e = it->second;
        if (e.pending == 0 && now - e.since >= window) {
            it = entries_.erase(it);
            continue;
        }
        // An entry with a check in flight is settled by end(), which restarts or drops it.
        if (e.pending == 0) next_expiry_ = std::min(next_expiry_, e.since + window);
        ++it;
    }
}

bool LoginThrottle::full(Clock::time_point now) {
    if (entries_.size() < capacity_) return false;
    expire(now);
    return entries_.size() >= capacity_;
}

bool LoginThrottle::refuses(const std::string& client, Clock::time_point now) {
    auto it = entries_.find(client);
    if (it == entries_.end()) {
        if (!full(now)) return false;
        ++refused_globally_;
        return true;
    }
    Entry& e = it->second;
    if (e.pending == 0 && now - e.since >= window) {
        entries_.erase(it);
        return false;
    }
    return e.failures + e.pending >= failures_allowed;
}

void LoginThrottle::begin(const std::string& client, Clock::time_point now) {
    auto [it, added] = entries_.try_emplace(client);
    if (added) {
        it->second.since = now;
        next_expiry_ = std::min(next_expiry_, now + window);
    }
    ++it->second.pending;
}

bool LoginThrottle::end(const std::string& client, bool failed, Clock::time_point now) {
    auto it = entries_.find(client);
    if (it == entries_.end()) return false;  // not begun: nothing to settle
    Entry& e = it->second;
    if (e.pending > 0) --e.pending;
    if (now - e.since >= window) {  // its minute ended while the check ran: a new minute starts here
        e.since = now;
        e.failures = 0;
        next_expiry_ = std::min(next_expiry_, now + window);
    }
    if (failed) ++e.failures;
    // An address with nothing against it takes no room.
    if (e.failures == 0 && e.pending == 0) {
        entries_.erase(it);
        return false;
    }
    return failed && e.failures == failures_allowed;
}

}  // namespace loopgate
