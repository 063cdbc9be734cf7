#include "drivers/nmea0183/ais_vessels.hpp"

namespace loopgate::nmea::ais {

bool VesselTable::heard(std::uint32_t mmsi, SteadyTime now) {
    auto it = index_.find(mmsi);
    if (it != index_.end()) {
        Entry& e = *it->second;
        const bool was_offline = !e.online;
        e.last_heard = now;
        e.online = true;
        online_.splice(online_.begin(), was_offline ? offline_ : online_, it->second);
        return was_offline;
    }
    if (max_ == 0) return false;
    if (index_.size() >= max_) {
        List& from = offline_.empty() ? online_ : offline_;
        index_.erase(from.back().mmsi);
        from.pop_back();
        ++forgotten_;
    }
    online_.push_front({mmsi, now, true});
    index_.emplace(mmsi, online_.begin());
    return true;
}

std::vector<std::uint32_t> VesselTable::expire(SteadyTime now) {
    std::vector<std::uint32_t> gone;
    if (!offline_after_) return gone;
    while (!online_.empty() && now - online_.back().last_heard >= *offline_after_) {
        auto last = std::prev(online_.end());
        last->online = false;
        gone.push_back(last->mmsi);
        offline_.splice(offline_.begin(), online_, last);
    }
    return gone;
}

std::optional<SteadyTime> VesselTable::next_expiry() const {
    if (!offline_after_ || online_.empty()) return std::nullopt;
    return online_.back().last_heard + *offline_after_;
}

}  // namespace loopgate::nmea::ais
