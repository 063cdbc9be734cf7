#pragma once
// Converting single NMEA fields to numbers. Every function tells "empty" (no value, not an error)
// apart from "present but not a valid number" (counted by the caller as a field error).

#include <cstdint>
#include <optional>
#include <string_view>

namespace loopgate::nmea {

enum class FieldState { empty, ok, invalid };

template <typename T>
struct Field {
    FieldState state = FieldState::empty;
    T value{};
    bool ok() const { return state == FieldState::ok; }
};

// Decimal number, optionally signed ("+00" occurs in ZDA); rejects exponents, inf, nan.
Field<double> parse_decimal(std::string_view f);
Field<std::int64_t> parse_integer(std::string_view f);

// "ddmm.mmmm" / "dddmm.mmmm" plus hemisphere to signed decimal degrees. The minutes digits are taken
// as an exact integer and divided once, so the result is the double nearest the true value (the
// naive fmod(x, 100) route loses the last digits of survey-grade receivers). `negative` is the
// hemisphere letter that makes the value negative ('S' or 'W').
Field<double> parse_coordinate(std::string_view value, std::string_view hemisphere, char positive, char negative,
                               int max_degrees);

}  // namespace loopgate::nmea
