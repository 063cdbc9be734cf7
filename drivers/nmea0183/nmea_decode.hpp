#pragma once
// One checked sentence to readings: pure, table-tested, fuzzed.
//
// The decoder knows nothing of devices, dates already seen or clocks: it reports the sentence's own
// time of day (and date, for RMC and ZDA) and leaves placing it in time to the driver.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/reading.hpp"
#include "drivers/nmea0183/nmea_gsv.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

namespace loopgate::nmea {

struct DecodeOptions {
    bool speed_knots = false;        // also emit every speed in knots as <metric>_knots
    bool pass_proprietary = false;   // $P... sentences as one raw string reading
};

struct Decoded {
    bool known = false;                         // a sentence type this decoder understands
    std::vector<Reading> readings;              // device and times left for the caller
    std::optional<std::int64_t> time_of_day_ns; // the sentence's UTC time of day, when it has one
    std::optional<std::int64_t> day;            // days since 1970-01-01, when the sentence carries a date
    std::optional<GsvPage> gsv;                 // GSV: one page for the assembler
    std::uint64_t field_errors = 0;             // fields present but not valid
};

Decoded decode_sentence(const Sentence& sentence, const DecodeOptions& options);

// Metric names a sentence can produce (besides the dynamic families "xdr.", "sky." and
// "proprietary."), for validating decimation settings and the docs test.
const std::vector<std::string>& static_metric_names();

// Makes a talker-chosen name (XDR transducer, proprietary id) safe and bounded for a metric name.
std::string sanitize_metric_part(std::string_view raw, std::size_t max_length);

}  // namespace loopgate::nmea
