#include "gateway/ops/systemd_notify.hpp"

#include <cstdint>

#ifdef LOOPGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace loopgate {

namespace {

void notify(const char* state) {
#ifdef LOOPGATE_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

}  // namespace

void notify_ready() { notify("READY=1"); }
void notify_reloading() { notify("RELOADING=1"); }
void notify_stopping() { notify("STOPPING=1"); }

SystemdWatchdog::SystemdWatchdog(boost::asio::io_context& io) : timer_(io) {}

void SystemdWatchdog::start() {
#ifdef LOOPGATE_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) {
        interval_ = std::chrono::microseconds(usec);
        arm();
    }
#endif
}

// Half the interval, so one late turn of the loop does not already miss the deadline.
void SystemdWatchdog::arm() {
    timer_.expires_after(interval_ / 2);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        notify("WATCHDOG=1");
        arm();
    });
}

}  // namespace loopgate
