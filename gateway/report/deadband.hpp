#pragma once
// Whether a value moved out of a deadband, decided exactly.
//
// Values are int64 or double, and a metric's type may change between readings. Converting to double
// and subtracting loses what matters at the edges: above 2^53 two integers one apart are the same
// double, and a percentage of a value near 1e308 overflows to infinity, after which nothing finite
// ever moves far enough. So every finite number is taken as what it is, an integer times a power of
// two, and |now - last| is compared with the deadband in exact integer arithmetic: no rounding, no
// overflow, for every int64 and every finite double (denormals, ±0 and ±max included).

#include "core/reading.hpp"
#include "core/report_policy.hpp"

namespace loopgate {

// True when `now` is at least the deadband away from `last`: |now - last| >= amount, or, for a
// percentage, |now - last| >= |last| * amount / 100 (of a zero last value: any change at all). A
// deadband of 0 passes everything. Text and switches move when they differ; NaN and infinities move
// when they are not the same as before (NaN equals NaN here). A deadband that is negative or not a
// number (config refuses both) passes everything: a filter never suppresses what it cannot judge.
bool moved_out_of_deadband(const Value& last, const Value& now, const Deadband& band);

// Equal for reporting: the same type and value, NaN equal to NaN (a sensor stuck on "no value" is not
// a change each time).
bool same_reported_value(const Value& a, const Value& b);

}  // namespace loopgate
