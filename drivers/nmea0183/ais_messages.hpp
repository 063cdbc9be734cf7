#pragma once
// AIS messages (ITU-R M.1371-5) from their bits to readings: pure, table-tested, fuzzed.
//
// Decoded: 1, 2, 3 (Class A position), 4 (base station), 5 (static and voyage data), 18 and 19 (Class B
// position), 21 (aid to navigation), 24 parts A and B (Class B static data), 27 (long-range position).
// Units are the gateway's: degrees, m/s, metres, degrees per minute. A field the message marks as not
// available (latitude 91, longitude 181, speed 102.3 kn, course 360, heading 511, rate of turn -128,
// empty text, zero IMO/ship type/dimensions) makes no reading. Lengths are checked as gpsd checks them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/reading.hpp"
#include "drivers/nmea0183/ais_sixbit.hpp"

namespace loopgate::nmea::ais {

enum class MessageStatus {
    decoded,
    other_type,  // a message type this decoder does not decode (counted per type)
    bad_length,  // shorter (or longer) than its type allows, or a type 24 part other than A or B
};

struct Message {
    MessageStatus status = MessageStatus::bad_length;
    unsigned type = 0;
    std::uint32_t mmsi = 0;
    std::vector<Reading> readings;            // metric, value, unit, quality; device and times left to the caller
    std::optional<unsigned> utc_second;       // the second of UTC the report was made in (0-59), when given
    std::optional<std::int64_t> utc_time_ns;  // type 4: the station's full UTC time, when valid
};

Message decode_message(const SixBits& bits);

// The device a message's readings belong to: "ais-<MMSI>" in decimal without padding.
std::string vessel_device(std::uint32_t mmsi);

// A message's source time from the time it was received: the station's own UTC time (type 4), or the
// receive time moved to the message's UTC second - the latest such time no more than 5 s after the
// receive time (reports are older than their reception; 5 s covers a receiver clock that is behind) -
// or the receive time itself when the message carries no time.
std::int64_t source_time(const Message& message, std::int64_t receive_ns);

// Every metric name an AIS message can produce (docs test, decimation settings).
const std::vector<std::string>& ais_metric_names();

}  // namespace loopgate::nmea::ais
