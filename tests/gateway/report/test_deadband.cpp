// The deadband decision (gateway/report/deadband.hpp) at the edges of int64 and double: exact for
// integers above 2^53 and at the int64 limits, never suppressing because an intermediate overflowed
// (a percentage of a value near 1e308), correct for denormals, ±0, NaN and infinities, and across a
// metric whose type changes between readings.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "gateway/report/deadband.hpp"
#include "gateway/report/report_filter.hpp"

using namespace loopgate;

namespace {

using I = std::int64_t;
constexpr I imax = std::numeric_limits<I>::max();
constexpr I imin = std::numeric_limits<I>::min();
constexpr I p53 = I{1} << 53;
const double dmax = std::numeric_limits<double>::max();
const double tiny = std::numeric_limits<double>::denorm_min();
const double infinity = std::numeric_limits<double>::infinity();
const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double two63 = 9223372036854775808.0;   // 2^63, one above INT64_MAX
const double two64 = 18446744073709551616.0;  // 2^64, one above UINT64_MAX

Deadband absolute(double amount) { return {amount, false}; }
Deadband percent(double amount) { return {amount, true}; }

struct Row {
    const char* what;
    Value last;
    Value now;
    Deadband band;
    bool moved;
};

}  // namespace

TEST_CASE("deadband: integers are compared exactly, above 2^53 and at the int64 limits", "[report][deadband]") {
    const Row rows[] = {
        {"2^53 to 2^53+1 moves 1", I{p53}, I{p53 + 1}, absolute(1), true},
        {"2^53+1 to 2^53+2 moves 1", I{p53 + 1}, I{p53 + 2}, absolute(1), true},
        {"2^53-1 to 2^53+1 moves 2, not 3", I{p53 - 1}, I{p53 + 1}, absolute(3), false},
        {"2^53 to 2^53+1 is inside a deadband of 2", I{p53}, I{p53 + 1}, absolute(2), false},
        {"INT64_MAX to INT64_MAX-1 moves 1", I{imax}, I{imax - 1}, absolute(1), true},
        {"INT64_MIN to INT64_MIN+1 moves 1", I{imin}, I{imin + 1}, absolute(1), true},
        {"INT64_MIN to INT64_MAX is 2^64-1, short of 2^64", I{imin}, I{imax}, absolute(two64), false},
        {"INT64_MAX to INT64_MIN is 2^64-1, past 2^64-2048", I{imax}, I{imin}, absolute(two64 - 2048), true},
        {"unchanged INT64_MAX", I{imax}, I{imax}, absolute(0.5), false},
        {"a fractional deadband: 3 is not a move of 3.5", I{10}, I{13}, absolute(3.5), false},
        {"a fractional deadband: 4 is", I{10}, I{14}, absolute(3.5), true},
        // 2 % of INT64_MAX is 184467440737095516.14
        {"2 % of INT64_MAX: 184467440737095516 short", I{imax}, I{imax - 184467440737095516}, percent(2), false},
        {"2 % of INT64_MAX: 184467440737095517 enough", I{imax}, I{imax - 184467440737095517}, percent(2), true},
        {"1000 % of INT64_MIN never overflows", I{imin}, I{imax}, percent(1000), false},
        {"100 % of INT64_MIN is 2^63: to -1 is short by one", I{imin}, I{-1}, percent(100), false},
        {"100 % of INT64_MIN is 2^63: to 0 is enough", I{imin}, I{0}, percent(100), true},
        {"1 % of 2^53+100 (90071992547410.92): 90071992547410 short", I{p53 + 100}, I{p53 + 100 + 90071992547410}, percent(1), false},
        {"1 % of 2^53+100: 90071992547411 enough", I{p53 + 100}, I{p53 + 100 + 90071992547411}, percent(1), true},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        CHECK(moved_out_of_deadband(r.last, r.now, r.band) == r.moved);
    }
}

TEST_CASE("deadband: doubles at the edges never overflow into a suppression", "[report][deadband]") {
    const Row rows[] = {
        {"2 % of DBL_MAX: a fall to 0 is a move", dmax, 0.0, percent(2), true},
        {"2 % of DBL_MAX: a fall to 1 is a move", dmax, 1.0, percent(2), true},
        {"2 % of DBL_MAX: 1 % less is not", dmax, dmax * 0.99, percent(2), false},
        {"2 % of DBL_MAX: 3 % less is", dmax, dmax * 0.97, percent(2), true},
        {"1000 % of DBL_MAX: to -DBL_MAX (2 DBL_MAX) is not", dmax, -dmax, percent(1000), false},
        {"100 % of DBL_MAX: to -DBL_MAX is", dmax, -dmax, percent(100), true},
        {"200 % of -DBL_MAX: to DBL_MAX is exactly it", -dmax, dmax, percent(200), true},
        {"DBL_MAX to -DBL_MAX moves past any absolute deadband", dmax, -dmax, absolute(dmax), true},
        {"-DBL_MAX to DBL_MAX (2 DBL_MAX) passes a deadband of DBL_MAX", -dmax, dmax, absolute(dmax), true},
        {"exactly the absolute deadband is a move", 20.0, 20.5, absolute(0.5), true},
        {"just inside it is not", 20.0, std::nextafter(20.5, 0.0), absolute(0.5), false},
        {"the exact difference, not the rounded one: 1 + 3 2^-54 is short of 1 + 2^-52", -3 * std::ldexp(1.0, -54), 1.0,
         absolute(1.0 + std::ldexp(1.0, -52)), false},
        {"denormals: the smallest to twice it moves one of it", tiny, 2 * tiny, absolute(tiny), true},
        {"denormals: but not two of it", tiny, 2 * tiny, absolute(2 * tiny), false},
        {"denormals: 100 % of the smallest, a fall to 0 is enough", tiny, 0.0, percent(100), true},
        {"denormals: 100.5 % of the smallest is more than it (no underflow to it)", tiny, 0.0, percent(100.5), false},
        {"denormals: from zero any change is a move, even the smallest", 0.0, tiny, percent(5), true},
        {"+0 to -0 is no move", 0.0, -0.0, absolute(1e-300), false},
        {"-0 to +0 is no move, as a percentage of zero", -0.0, 0.0, percent(1), false},
        {"a deadband of 0 passes even an unchanged value", 5.0, 5.0, absolute(0), true},
        {"a deadband of 0 % too", 5.0, 5.0, percent(0), true},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        CHECK(moved_out_of_deadband(r.last, r.now, r.band) == r.moved);
    }
}

TEST_CASE("deadband: NaN, infinities, text and switches move when they differ", "[report][deadband]") {
    const Row rows[] = {
        {"NaN again is not a change", not_a_number, not_a_number, absolute(1), false},
        {"a number turning NaN is", 1.0, not_a_number, absolute(1), true},
        {"NaN turning a number is", not_a_number, 1.0, percent(2), true},
        {"infinity again is not", infinity, infinity, percent(2), false},
        {"infinity to a finite value is", infinity, 1.0, percent(2), true},
        {"a finite value to -infinity is", 1.0, -infinity, absolute(dmax), true},
        {"infinity to -infinity is", infinity, -infinity, absolute(1), true},
        {"the same text is not", std::string("ok"), std::string("ok"), absolute(1), false},
        {"other text is", std::string("ok"), std::string("ko"), absolute(1), true},
        {"a switch flipping is", true, false, absolute(1), true},
        {"a number turning a switch is", I{1}, true, absolute(5), true},
        {"a negative deadband (config refuses it) passes", 1.0, 1.0, absolute(-1), true},
        {"a NaN deadband (config refuses it) passes", 1.0, 1.0, percent(not_a_number), true},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        CHECK(moved_out_of_deadband(r.last, r.now, r.band) == r.moved);
    }
}

TEST_CASE("deadband: a metric whose type changes is compared by value, exactly", "[report][deadband]") {
    const Row rows[] = {
        {"int 100 to 100.4 is inside 0.5", I{100}, 100.4, absolute(0.5), false},
        {"int 100 to 100.5 is a move of 0.5", I{100}, 100.5, absolute(0.5), true},
        {"100.5 to int 100 likewise", 100.5, I{100}, absolute(0.5), true},
        {"int 2^53+1 to the double 2^53 moves 1", I{p53 + 1}, static_cast<double>(p53), absolute(1), true},
        {"INT64_MAX to the double 2^63 moves 1", I{imax}, two63, absolute(1), true},
        {"INT64_MAX to the double 2^63 is not a move of 2", I{imax}, two63, absolute(2), false},
        {"the double 2^64 (UINT64_MAX + 1) to INT64_MAX moves 2^63+1", two64, I{imax}, absolute(two63), true},
        {"... which is short of 2^63+2048", two64, I{imax}, absolute(two63 + 2048), false},
        {"300 % of INT64_MIN is exactly the way to the double 2^64", I{imin}, two64, percent(300), true},
        {"int 0 to -0.0 is no move", I{0}, -0.0, absolute(1), false},
        {"DBL_MAX to int 0 is a 2 % move", dmax, I{0}, percent(2), true},
    };
    for (const Row& r : rows) {
        INFO(r.what);
        CHECK(moved_out_of_deadband(r.last, r.now, r.band) == r.moved);
    }
}

TEST_CASE("report filter: after a value near the largest double, later values still report", "[report][deadband]") {
    ReportFilter filter;
    ReportPolicy policy;
    policy.deadband = Deadband{2, true};
    DeviceReport d;
    d.policy = policy;
    const auto now = ReportFilter::Steady{} + std::chrono::hours(1);
    filter.configure({{"dev", d}}, now);
    auto passes = [&](Value v) {
        Reading r;
        r.device = "dev";
        r.metric = "x";
        r.value = std::move(v);
        std::vector<Reading> rs{r};
        filter.submit(rs, now);
        return !rs.empty();
    };
    CHECK(passes(1.7e308));
    CHECK(passes(20.0));   // a fall of nearly 1.7e308: before, 2 % of 1.7e308 overflowed and nothing passed again
    CHECK_FALSE(passes(20.1));
    CHECK(passes(I{p53}));
    CHECK_FALSE(passes(I{p53 + p53 / 50}));  // 2 % of 2^53 is 180143985094819.84
    CHECK(passes(I{p53 + p53 / 50 + 1}));
    CHECK(filter.counts().suppressed == 2);
}
