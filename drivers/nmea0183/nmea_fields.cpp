#include "drivers/nmea0183/nmea_fields.hpp"

#include <charconv>
#include <cmath>

namespace loopgate::nmea {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Only plain decimals: from_chars alone would also take "1e5", "inf" and "nan".
bool plain_decimal(std::string_view s) {
    bool digit = false, dot = false;
    for (char c : s) {
        if (is_digit(c)) digit = true;
        else if (c == '.' && !dot) dot = true;
        else return false;
    }
    return digit;
}

}  // namespace

Field<double> parse_decimal(std::string_view f) {
    Field<double> out;
    if (f.empty()) return out;
    out.state = FieldState::invalid;
    bool negative = false;
    if (f.front() == '+' || f.front() == '-') {
        negative = f.front() == '-';
        f.remove_prefix(1);
    }
    if (!plain_decimal(f)) return out;
    double v = 0;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec != std::errc() || p != f.data() + f.size() || !std::isfinite(v)) return out;
    out.value = negative ? -v : v;
    out.state = FieldState::ok;
    return out;
}

Field<std::int64_t> parse_integer(std::string_view f) {
    Field<std::int64_t> out;
    if (f.empty()) return out;
    out.state = FieldState::invalid;
    if (f.front() == '+') f.remove_prefix(1);
    if (f.empty() || (f.front() == '-' && f.size() == 1)) return out;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec != std::errc() || p != f.data() + f.size()) return out;
    out.value = v;
    out.state = FieldState::ok;
    return out;
}

Field<double> parse_coordinate(std::string_view value, std::string_view hemisphere, char positive, char negative,
                               int max_degrees) {
    Field<double> out;
    if (value.empty() && hemisphere.empty()) return out;
    out.state = FieldState::invalid;
    if (hemisphere.size() != 1 || (hemisphere[0] != positive && hemisphere[0] != negative)) return out;
    std::size_t dot = value.find('.');
    std::string_view whole = value.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? std::string_view() : value.substr(dot + 1);
    if (whole.size() < 2 || whole.size() > 5) return out;
    for (char c : whole)
        if (!is_digit(c)) return out;
    for (char c : frac)
        if (!is_digit(c)) return out;
    if (dot != std::string_view::npos && frac.empty()) return out;

    std::int64_t degrees = 0;
    for (char c : whole.substr(0, whole.size() - 2)) degrees = degrees * 10 + (c - '0');
    const std::int64_t minutes_whole = (whole[whole.size() - 2] - '0') * 10 + (whole.back() - '0');
    if (minutes_whole >= 60 || degrees > max_degrees) return out;

    // Drop trailing zeros so that more digits fit the exact path; they change nothing.
    while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
    double result = 0;
    if (frac.size() <= 11) {
        // numerator = degrees*60*10^k + minutes*10^k + fraction digits: an integer below 2^53, so exact.
        std::int64_t scale = 1;
        std::int64_t minutes_scaled = minutes_whole;
        for (char c : frac) {
            scale *= 10;
            minutes_scaled = minutes_scaled * 10 + (c - '0');
        }
        const std::int64_t numerator = degrees * 60 * scale + minutes_scaled;
        result = static_cast<double>(numerator) / static_cast<double>(60 * scale);
    } else {
        double minutes = 0;
        std::string_view m = value.substr(whole.size() - 2);
        std::from_chars(m.data(), m.data() + m.size(), minutes);
        result = static_cast<double>(degrees) + minutes / 60.0;
    }
    if (result > max_degrees) return out;
    out.value = hemisphere[0] == negative ? -result : result;
    out.state = FieldState::ok;
    return out;
}

}  // namespace loopgate::nmea
