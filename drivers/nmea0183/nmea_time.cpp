#include "drivers/nmea0183/nmea_time.hpp"

#include <cstdio>

namespace loopgate::nmea {

namespace {

bool digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

int two(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::optional<std::int64_t> parse_time_of_day(std::string_view f) {
    if (f.size() < 6) return std::nullopt;
    std::string_view whole = f.substr(0, 6);
    if (!digits(whole)) return std::nullopt;
    int h = two(f, 0), m = two(f, 2), s = two(f, 4);
    if (h > 23 || m > 59 || s > 60) return std::nullopt;
    std::int64_t frac_ns = 0;
    if (f.size() > 6) {
        if (f[6] != '.') return std::nullopt;
        std::string_view frac = f.substr(7);
        if (!digits(frac)) return std::nullopt;
        std::int64_t scale = ns_per_second / 10;
        for (char c : frac) {
            frac_ns += (c - '0') * scale;  // digits beyond nanoseconds add nothing (scale reaches 0)
            scale /= 10;
        }
    }
    return ((h * 60 + m) * 60 + s) * ns_per_second + frac_ns;
}

std::optional<std::int64_t> days_from_civil(int y, int m, int d) {
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1) return std::nullopt;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
    // Howard Hinnant's days_from_civil.
    y -= m <= 2;
    const std::int64_t era = y / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::optional<std::int64_t> parse_ddmmyy(std::string_view f) {
    if (f.size() != 6 || !digits(f)) return std::nullopt;
    int yy = two(f, 4);
    return days_from_civil(yy < 80 ? 2000 + yy : 1900 + yy, two(f, 2), two(f, 0));
}

std::string format_utc(std::int64_t unix_ns) {
    std::int64_t days = floor_div(unix_ns, ns_per_day);
    std::int64_t rest = unix_ns - days * ns_per_day;
    // Hinnant's civil_from_days.
    std::int64_t z = days + 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = yoe + era * 400 + (m <= 2);
    std::int64_t ms = rest / 1'000'000;
    char buf[160];  // room for any int64 in every field keeps -Wformat-truncation quiet
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
                  static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60), static_cast<long long>(ms / 1000 % 60),
                  static_cast<long long>(ms % 1000));
    return buf;
}

std::int64_t DateTracker::dated(std::int64_t day, std::int64_t time_of_day_ns) {
    std::int64_t t = day * ns_per_day + time_of_day_ns;
    reference_ns_ = t;
    return t;
}

std::optional<std::int64_t> DateTracker::resolve(std::int64_t time_of_day_ns) {
    if (!reference_ns_) return std::nullopt;
    const std::int64_t base = floor_div(*reference_ns_, ns_per_day);
    std::int64_t best = (base - 1) * ns_per_day + time_of_day_ns;
    for (std::int64_t day = base; day <= base + 1; ++day) {
        std::int64_t t = day * ns_per_day + time_of_day_ns;
        std::int64_t dist = t > *reference_ns_ ? t - *reference_ns_ : *reference_ns_ - t;
        std::int64_t best_dist = best > *reference_ns_ ? best - *reference_ns_ : *reference_ns_ - best;
        if (dist < best_dist) best = t;
    }
    // Moving the reference lets a receiver that sends RMC rarely (or never again) still roll over.
    reference_ns_ = best;
    return best;
}

}  // namespace loopgate::nmea
