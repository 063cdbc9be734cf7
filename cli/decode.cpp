#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "core/reading_json.hpp"
#include "drivers/registry.hpp"
#include "gateway/config.hpp"

namespace loopgate::commands {

const char* const decode_usage =
    "usage: loopgate decode --driver NAME [--config FILE] [--port NAME] < CAPTURE\n"
    "\n"
    "Feeds a raw capture on stdin to a driver and prints the readings it makes, one JSON object\n"
    "per line; the driver's counters go to stderr.\n"
    "\n"
    "options:\n"
    "  --driver NAME   line, mbus, modbus-rtu or nmea0183 (required)\n"
    "  --config FILE   take the driver's settings and devices from this gateway config\n"
    "  --port NAME     the port of --config to use (default: the first with that driver)\n";

namespace {

DriverSpec spec_for(const Args& args, const std::string& driver, ConfigNode& name_node) {
    std::string file = option(args, "--config");
    if (file.empty()) {
        // No config: the driver runs on its defaults, as a port named after it.
        DriverSpec spec;
        spec.port.name = driver;
        name_node = ConfigNode(YAML::Node(driver), "(command line)", "--driver");
        return spec;
    }
    static Config config;  // the spec refers to nodes of this config
    config = load_config(file);
    std::string wanted = option(args, "--port");
    for (const PortConfig& p : config.ports) {
        if (!wanted.empty() ? p.name == wanted : p.driver.as_string() == driver) {
            if (p.driver.as_string() != driver)
                throw std::invalid_argument("port '" + p.name + "' uses driver " + p.driver.as_string() + ", not " + driver);
            name_node = p.driver;
            return driver_spec(p);
        }
    }
    throw std::invalid_argument(wanted.empty() ? file + " has no port with driver " + driver
                                               : file + " has no port named " + wanted);
}

}  // namespace

int decode(const Args& args) {
    allow_only(args, {"--driver", "--config", "--port"}, {});
    std::string driver_name = option(args, "--driver");
    if (driver_name.empty()) throw std::invalid_argument("--driver NAME is required");
    ConfigNode name_node;
    DriverSpec spec = spec_for(args, driver_name, name_node);
    std::unique_ptr<Driver> driver = make_driver(name_node, spec);

    // A capture carries no timing: time stands still while the bytes are fed, then the driver's
    // timers are allowed to fire as if the line had gone quiet, so partial frames are flushed.
    DriverClock clock{std::chrono::steady_clock::now(), wall_now_ns()};
    auto print = [](DriverOutput& out) {
        for (const Reading& r : out.readings) std::printf("%s\n", to_json_line(r).c_str());
        for (const std::string& w : out.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        out.readings.clear();
        out.warnings.clear();
    };
    std::vector<std::uint8_t> buffer(65536);
    std::optional<SteadyTime> wake;
    while (true) {
        ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(std::string("cannot read stdin: ") + std::strerror(errno));
        if (n == 0) break;
        DriverOutput out;
        driver->on_bytes(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)), clock, out);
        if (out.wake_at) wake = out.wake_at;
        print(out);
    }
    for (int i = 0; wake && i < 1000; ++i) {
        clock.steady = std::max(clock.steady, *wake);
        DriverOutput out;
        driver->on_timer(clock, out);
        wake = out.wake_at;
        print(out);
    }
    std::fflush(stdout);
    for (const auto& [name, value] : driver->counters()) std::fprintf(stderr, "%s=%llu ", name.c_str(), static_cast<unsigned long long>(value));
    std::fprintf(stderr, "\n");
    return 0;
}

}  // namespace loopgate::commands
