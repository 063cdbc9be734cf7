#pragma once
// The process's one reading of the wall clock, so every stage stamps time the same way and a
// test or a tool can find where time enters.

#include <cstdint>

namespace loopgate {

// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
std::int64_t wall_now_ns();

}  // namespace loopgate
