// `loopgate mbus-scan`: which M-Bus meters answer on a line. The scan itself is the pure state
// machine in drivers/mbus/mbus_scan.cpp; this is its shell: the serial line and the clock.

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <boost/asio/io_context.hpp>

#include "cli/commands.hpp"
#include "drivers/mbus/mbus_scan.hpp"
#include "gateway/config.hpp"
#include "gateway/serial/serial_line.hpp"

namespace loopgate::commands {

const char* const mbus_scan_usage =
    "usage: loopgate mbus-scan --port PATH [--baud N] [--secondary] [--retries N]\n"
    "\n"
    "Lists the M-Bus meters answering on a line (through its level converter): identification\n"
    "number, manufacturer, medium and version, and the primary address they answered at. Run it\n"
    "while no gateway uses the port.\n"
    "\n"
    "options:\n"
    "  --port PATH     the serial port of the level converter (required)\n"
    "  --baud N        300 to 38400 (default 2400); the line runs 8E1\n"
    "  --secondary     search by secondary address (wildcard selection) instead of trying the\n"
    "                  primary addresses 0-250\n"
    "  --retries N     repeats of an unanswered probe (default 1)\n";

int mbus_scan(const Args& args) {
    allow_only(args, {"--port", "--baud", "--retries"}, {"--secondary"});
    PortConfig port;
    port.name = "mbus-scan";
    port.path = option(args, "--port");
    if (port.path.empty()) throw std::invalid_argument("--port PATH is required");
    double baud = number_option(args, "--baud", 2400, 300);
    if (baud > 38400) throw std::invalid_argument("--baud: M-Bus runs at 300 to 38400 baud");
    port.baud = static_cast<unsigned>(baud);
    port.parity = "even";
    const int retries = static_cast<int>(number_option(args, "--retries", 1, 0));
    const bool secondary = flag(args, "--secondary");

    boost::asio::io_context io;
    SerialLine line(io, port);
    line.open();
    const int fd = line.port().native_handle();
    PortInfo info{port.name, port.baud, 8, true, 1};
    mbus::Scan scan(mbus::bus_timing(info, mbus::Settings{}), secondary, retries);
    using Clock = std::chrono::steady_clock;
    mbus::Scan::Step step = scan.start(Clock::now());
    std::fprintf(stderr, "scanning %s at %u baud (%s)...\n", port.path.c_str(), port.baud,
                 secondary ? "secondary addresses" : "primary addresses 0-250");
    while (!step.done) {
        if (!step.send.empty()) {
            std::size_t off = 0;
            while (off < step.send.size()) {
                ssize_t n = ::write(fd, step.send.data() + off, step.send.size() - off);
                if (n < 0) {
                    pollfd out{fd, POLLOUT, 0};
                    ::poll(&out, 1, 1000);
                    continue;
                }
                off += static_cast<std::size_t>(n);
            }
            step.send.clear();
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(step.wake - Clock::now()).count();
        pollfd in{fd, POLLIN, 0};
        int ready = ::poll(&in, 1, static_cast<int>(std::max<long long>(0, wait) + 1));
        if (ready > 0 && (in.revents & POLLIN)) {
            std::uint8_t buf[512];
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                step = scan.on_bytes(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)), Clock::now());
                continue;
            }
        }
        if (Clock::now() >= step.wake) step = scan.on_timer(Clock::now());
    }
    std::printf("%-8s %-9s %-12s %-8s %-22s %s\n", "ADDRESS", "ID", "MANUFACTURER", "VERSION", "MEDIUM", "NOTE");
    for (const mbus::FoundMeter& m : scan.found()) {
        std::string address = m.address ? std::to_string(*m.address) : "-";
        std::printf("%-8s %-9s %-12s %-8u %-22s %s\n", address.c_str(), m.id.empty() ? "-" : m.id.c_str(),
                    m.manufacturer.empty() ? "-" : m.manufacturer.c_str(), unsigned{m.version},
                    m.manufacturer.empty() ? "-" : mbus::medium_name(m.medium),
                    m.collision ? "several meters answered at once" : "");
    }
    std::fprintf(stderr, "%zu found, %llu probes\n", scan.found().size(), static_cast<unsigned long long>(scan.probes()));
    return 0;
}

}  // namespace loopgate::commands
