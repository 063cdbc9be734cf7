#pragma once
// AIS on an NMEA 0183 line: !--VDM/!--VDO sentences to readings of one device per vessel or station
// ("ais-<MMSI>"). Ties the pure parts together - fragment fields, reassembly, armour, message decoding,
// the bounded vessel table - and keeps their counters. No I/O: the driver passes the time in.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/nmea0183/ais_reassembly.hpp"
#include "drivers/nmea0183/ais_vessels.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

namespace loopgate::nmea::ais {

struct AisSettings {
    bool enabled = true;
    std::size_t max_vessels = 2000;
    std::optional<std::chrono::milliseconds> offline_after;  // the port's offline_after_silence
};

class AisReceiver {
public:
    explicit AisReceiver(const AisSettings& settings);

    // One checked sentence for which is_ais_sentence() holds.
    void on_sentence(const Sentence& sentence, const DriverClock& now, std::vector<Reading>& out);
    // Vessels silent for offline_after go offline (`online: false`).
    void on_timer(const DriverClock& now, std::vector<Reading>& out);
    std::optional<SteadyTime> wake_at() const { return vessels_.next_expiry(); }
    void on_close() { reassembler_.reset(); }

    void add_counters(Counters& counters) const;

private:
    void online(std::uint32_t mmsi, bool is_online, std::int64_t wall_ns, std::vector<Reading>& out) const;

    bool enabled_;
    bool track_online_;
    Reassembler reassembler_;
    VesselTable vessels_;
    std::uint64_t sentences_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t bad_fragment_ = 0;
    std::uint64_t bad_payload_ = 0;
    std::uint64_t bad_length_ = 0;
    std::uint64_t ignored_ = 0;
    std::map<unsigned, std::uint64_t> other_types_;
};

}  // namespace loopgate::nmea::ais
