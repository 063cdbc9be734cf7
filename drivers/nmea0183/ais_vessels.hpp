#pragma once
// The vessels and stations a port has heard, bounded: beyond `max_vessels` the least recently heard
// is forgotten (counted). With a silence limit, a vessel not heard for that long is reported offline
// once, and online again when it is heard. Pure: the steady time is passed in.

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "drivers/driver.hpp"

namespace loopgate::nmea::ais {

class VesselTable {
public:
    VesselTable(std::size_t max_vessels, std::optional<std::chrono::milliseconds> offline_after)
        : max_(max_vessels), offline_after_(offline_after) {}

    // `mmsi` was heard at `now`. True when it was not known, or was offline: it is online (again).
    bool heard(std::uint32_t mmsi, SteadyTime now);
    // The vessels silent for the limit at `now`, each once; they are remembered as offline.
    std::vector<std::uint32_t> expire(SteadyTime now);
    // When expire() next has something to do.
    std::optional<SteadyTime> next_expiry() const;

    std::size_t size() const { return index_.size(); }
    std::uint64_t forgotten() const { return forgotten_; }

private:
    struct Entry {
        std::uint32_t mmsi;
        SteadyTime last_heard;
        bool online;
    };
    // Most recently heard first. Offline vessels are kept apart: all were heard before every online
    // one, so the least recently heard is the back of `offline_`, or of `online_` when none is offline.
    using List = std::list<Entry>;
    List online_;
    List offline_;
    std::unordered_map<std::uint32_t, List::iterator> index_;
    std::size_t max_;
    std::optional<std::chrono::milliseconds> offline_after_;
    std::uint64_t forgotten_ = 0;
};

}  // namespace loopgate::nmea::ais
