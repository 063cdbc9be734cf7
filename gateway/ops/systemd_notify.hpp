#pragma once
// The service's side of systemd's Type=notify protocol and its watchdog. Every call is a no-op when
// the binary is built without libsystemd or runs outside a unit (no NOTIFY_SOCKET), so the daemon
// behaves the same from a shell.

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace loopgate {

// systemctl start returns, and units ordered after loopgate start, only once this is sent; `status`
// is the line `systemctl status` shows (STATUS=).
void notify_ready(const std::string& status);
// Sent when a SIGHUP reload begins; notify_ready() ends it, so the unit shows as reloading meanwhile.
void notify_reloading();
void notify_stopping();

// WatchdogSec=: pings from the event loop itself, so a stuck loop stops the pings and systemd
// restarts the service. Does nothing when the unit sets no watchdog. Each ping carries `status()` as
// the new STATUS= line, so what `systemctl status` shows is at most WatchdogSec/2 old.
class SystemdWatchdog {
public:
    SystemdWatchdog(boost::asio::io_context& io, std::function<std::string()> status);
    void start();

private:
    void arm();

    boost::asio::steady_timer timer_;
    std::function<std::string()> status_;
    std::chrono::microseconds interval_{0};
};

}  // namespace loopgate
