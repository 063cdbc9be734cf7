#include "core/clock.hpp"

#include <chrono>

namespace loopgate {

std::int64_t wall_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace loopgate
