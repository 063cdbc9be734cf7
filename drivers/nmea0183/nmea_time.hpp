#pragma once
// UTC time in NMEA: time-of-day fields, dates, and turning "hhmmss.ss" into an absolute timestamp.
//
// Most sentences carry only the time of day; the date comes from RMC or ZDA. DateTracker remembers the
// last absolute time and places each new time of day on the calendar day nearest to it, which
// handles midnight rollover in both directions without trusting sentence order within a cycle.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loopgate::nmea {

inline constexpr std::int64_t ns_per_second = 1'000'000'000;
inline constexpr std::int64_t ns_per_day = 86'400 * ns_per_second;

// "hhmmss" or "hhmmss.s..." to nanoseconds since midnight; nullopt when empty or invalid.
// Seconds may be 60 (leap second).
std::optional<std::int64_t> parse_time_of_day(std::string_view field);

// Days since 1970-01-01 of a civil date; nullopt when the date does not exist.
std::optional<std::int64_t> days_from_civil(int year, int month, int day);

// RMC "ddmmyy": two-digit years are read as 1980..2079 (GPS time began in 1980).
std::optional<std::int64_t> parse_ddmmyy(std::string_view field);

// "2018-09-07T19:39:13.000Z" (millisecond precision, like the receivers print).
std::string format_utc(std::int64_t unix_ns);

class DateTracker {
public:
    // A sentence that carries its own date (RMC, ZDA): its timestamp, remembered as the reference.
    std::int64_t dated(std::int64_t day, std::int64_t time_of_day_ns);
    // A time of day alone: placed on the day (previous, same or next) nearest the reference.
    // nullopt while no date has been seen: a guessed date would be a wrong timestamp, not a rough one.
    std::optional<std::int64_t> resolve(std::int64_t time_of_day_ns);
    bool knows_date() const { return reference_ns_.has_value(); }
    void forget() { reference_ns_.reset(); }

private:
    std::optional<std::int64_t> reference_ns_;
};

}  // namespace loopgate::nmea
