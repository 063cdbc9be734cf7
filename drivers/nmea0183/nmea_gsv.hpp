#pragma once
// GSV (satellites in view) arrives as a group of pages; the sky summary is only meaningful once the
// whole group is in. This assembles pages per constellation and signal and summarises each group.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/reading.hpp"

namespace loopgate::nmea {

struct GsvPage {
    std::string system;       // "gps", "glonass", ... (from the talker)
    std::string signal;       // NMEA 4.10 signal id, empty when the talker does not send one
    std::int64_t total = 0;   // pages in the group
    std::int64_t number = 0;  // this page, 1-based
    std::optional<std::int64_t> in_view;
    std::vector<double> snrs;  // SNR of each listed satellite that has one (dB-Hz)
};

// "GP" -> "gps", "GL" -> "glonass", ...; other talkers lower-cased.
std::string constellation_name(std::string_view talker);

// The metric prefix of a group: "sky.gps." or "sky.gps.sig1.".
std::string sky_prefix(const std::string& system, const std::string& signal);

class GsvAssembler {
public:
    // Readings (device and times left to the caller) when `page` completes its group; none otherwise.
    std::vector<Reading> add(const GsvPage& page);
    void reset() { groups_.clear(); }
    std::uint64_t incomplete() const { return incomplete_; }  // groups abandoned for a missing page

private:
    struct Group {
        std::int64_t total = 0;
        std::int64_t next = 1;
        std::optional<std::int64_t> in_view;
        std::vector<double> snrs;
    };
    std::map<std::string, Group> groups_;
    std::uint64_t incomplete_ = 0;
};

}  // namespace loopgate::nmea
