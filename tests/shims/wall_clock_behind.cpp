// LD_PRELOAD shim: a box without a real-time clock whose NTP client steps the wall clock. Until the
// file named by LOOPGATE_CLOCK_STEP_FLAG exists, CLOCK_REALTIME reads LOOPGATE_CLOCK_BEHIND_S seconds
// behind; from the moment it exists, right. Tests make that file the gateway's clock_sync flag, so
// the step and the synchronization are seen together, as with systemd-timesyncd. Monotonic clocks
// are left alone: the gateway measures the step against them.
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace {
using ClockGettime = int (*)(clockid_t, struct timespec*);
std::atomic<bool> stepped{false};
}  // namespace

extern "C" int clock_gettime(clockid_t clock, struct timespec* ts) {
    static const auto real = reinterpret_cast<ClockGettime>(dlsym(RTLD_NEXT, "clock_gettime"));
    int rc = real(clock, ts);
    if (rc != 0 || (clock != CLOCK_REALTIME && clock != CLOCK_REALTIME_COARSE) || stepped.load()) return rc;
    static const char* const flag = std::getenv("LOOPGATE_CLOCK_STEP_FLAG");
    static const long behind = std::getenv("LOOPGATE_CLOCK_BEHIND_S") ? std::atol(std::getenv("LOOPGATE_CLOCK_BEHIND_S")) : 0;
    if (flag == nullptr || ::access(flag, F_OK) == 0) {
        stepped = true;
        return rc;
    }
    ts->tv_sec -= behind;
    return rc;
}
