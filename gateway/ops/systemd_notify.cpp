#include "gateway/ops/systemd_notify.hpp"

#include <cstdint>
#include <utility>

#ifdef LOOPGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace loopgate {

namespace {

void notify(const std::string& state) {
#ifdef LOOPGATE_HAVE_SYSTEMD
    sd_notify(0, state.c_str());
#else
    (void)state;
#endif
}

// A status with a newline would end the STATUS= field and start a field of its own.
std::string status_field(std::string status) {
    for (char& c : status)
        if (c == '\n') c = ' ';
    return "STATUS=" + status;
}

}  // namespace

void notify_ready(const std::string& status) { notify("READY=1\n" + status_field(status)); }
void notify_reloading() { notify("RELOADING=1"); }
void notify_stopping() { notify("STOPPING=1"); }

SystemdWatchdog::SystemdWatchdog(boost::asio::io_context& io, std::function<std::string()> status)
    : timer_(io), status_(std::move(status)) {}

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
        notify("WATCHDOG=1\n" + status_field(status_()));
        arm();
    });
}

}  // namespace loopgate
