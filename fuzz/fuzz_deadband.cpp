// libFuzzer target: the report stage's deadband (gateway/report/deadband.hpp) and the filter that
// applies it, checked against invariants rather than only for crashes:
//  - the first reading is reported, and what is reported is the reading as it came;
//  - a change larger than the deadband is never suppressed, a smaller one never reported (checked in
//    exact 128-bit integers for integer values and integral deadbands, and in long double, away from
//    the boundary, for everything else);
//  - the distance is symmetric for absolute deadbands, unchanged by negating both values, and a
//    smaller deadband never suppresses what a larger one reports.
// Input: one byte of flags (bit 0: percentage), the deadband as 8 bytes, then readings of 9 bytes
// each: a type byte (int64, double, switch, text) and 8 bytes of value.
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "gateway/report/deadband.hpp"
#include "gateway/report/report_filter.hpp"

using namespace loopgate;

namespace {

using i128 = __int128;

std::optional<long double> number(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<long double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return static_cast<long double>(*d);
    return std::nullopt;
}

i128 magnitude(i128 v) { return v < 0 ? -v : v; }

// What the deadband must decide, where that can be told independently: nullopt near the boundary.
std::optional<bool> expected(const Value& last, const Value& now, const Deadband& band) {
    auto x = number(last), y = number(now);
    if (!x || !y || !std::isfinite(*x) || !std::isfinite(*y)) return std::nullopt;
    if (band.amount == 0) return true;
    const auto* xi = std::get_if<std::int64_t>(&last);
    const auto* yi = std::get_if<std::int64_t>(&now);
    if (xi && yi && band.amount == std::floor(band.amount) && band.amount < 1e30) {
        i128 moved = magnitude(i128{*yi} - i128{*xi});
        i128 amount = static_cast<i128>(band.amount);
        if (!band.percent) return moved >= amount;
        if (*xi == 0) return moved > 0;
        return 100 * moved >= magnitude(i128{*xi}) * amount;
    }
    long double moved = std::fabs(*y - *x);
    long double threshold = band.percent ? std::fabs(*x) * band.amount / 100.0L : band.amount;
    if (band.percent && *x == 0) return moved > 0;
    const long double margin = 1e-12L;  // long double carries 64 bits: far finer than this
    if (moved > threshold * (1 + margin)) return true;
    if (moved < threshold * (1 - margin)) return false;
    return std::nullopt;
}

Value negated(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return std::int64_t{0} - *i;  // callers skip INT64_MIN
    if (const auto* d = std::get_if<double>(&v)) return -*d;
    return v;
}

bool is_int64_min(const Value& v) {
    const auto* i = std::get_if<std::int64_t>(&v);
    return i && *i == INT64_MIN;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 9) return 0;
    Deadband band;
    band.percent = (data[0] & 1) != 0;
    std::memcpy(&band.amount, data + 1, 8);
    // What the config admits (core/report_policy.cpp parse_deadband).
    if (!std::isfinite(band.amount) || band.amount < 0 || (band.percent && band.amount > 1000)) return 0;

    std::vector<Value> values;
    for (std::size_t at = 9; at + 9 <= size; at += 9) {
        std::uint64_t bits;
        std::memcpy(&bits, data + at + 1, 8);
        switch (data[at] % 4) {
            case 0: values.emplace_back(static_cast<std::int64_t>(bits)); break;
            case 1: values.emplace_back(std::bit_cast<double>(bits)); break;
            case 2: values.emplace_back((bits & 1) != 0); break;
            default: values.emplace_back(std::string(1, static_cast<char>('a' + bits % 3))); break;
        }
    }
    if (values.empty()) return 0;

    ReportFilter filter;
    DeviceReport device;
    device.policy.deadband = band;
    const auto now = ReportFilter::Steady{} + std::chrono::hours(1);
    filter.configure({{"dev", device}}, now);

    std::optional<Value> last;
    for (const Value& v : values) {
        Reading r;
        r.device = "dev";
        r.metric = "m";
        r.value = v;
        std::vector<Reading> out{r};
        filter.submit(out, now);
        const bool reported = !out.empty();
        if (reported && (out.size() != 1 || !same_reported_value(out[0].value, v))) std::abort();
        if (!last) {
            if (!reported) std::abort();  // the first reading always
        } else {
            const bool moved = moved_out_of_deadband(*last, v, band);
            if (moved != reported) std::abort();  // the filter applies exactly the deadband
            if (auto want = expected(*last, v, band); want && *want != moved) std::abort();
            if (!band.percent && moved_out_of_deadband(v, *last, band) != moved) std::abort();
            if (!is_int64_min(v) && !is_int64_min(*last) &&
                moved_out_of_deadband(negated(*last), negated(v), band) != moved)
                std::abort();
            if (moved && !moved_out_of_deadband(*last, v, Deadband{band.amount / 2, band.percent})) std::abort();
        }
        if (reported) last = v;
    }
    return 0;
}
