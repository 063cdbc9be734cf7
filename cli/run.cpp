#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/network_endpoint.hpp"
#include "gateway/config.hpp"
#include "gateway/fleet/config_state.hpp"
#include "gateway/gateway.hpp"

namespace loopgate::commands {

const char* const run_usage =
    "usage: loopgate run --config FILE [--verbose]\n"
    "\n"
    "Runs the gateway until SIGTERM or SIGINT; SIGHUP re-reads the config file.\n"
    "A config with errors is refused: each error is printed and the exit status is 1.\n"
    "With remote_config.enabled, a remotely applied version (in the store's directory, config/) wins\n"
    "over FILE until `loopgate config revert`; see README \"Remote configuration\".\n"
    "\n"
    "options:\n"
    "  --config FILE   the gateway's YAML config (required)\n"
    "  --verbose       log at debug level\n";

const char* const check_config_usage =
    "usage: loopgate check-config FILE\n"
    "\n"
    "Validates a config file, driver settings and devices included. Exit 0 and a summary when it\n"
    "is valid; otherwise every error found is printed to stderr, one per line, as\n"
    "FILE:LINE:COLUMN: FIELD: message (with a suggestion for a likely typo), and the exit status is 1.\n"
    "\n"
    "options:\n"
    "  FILE            the config file to check (required)\n";

namespace {

// Where a port's bytes go and at what speed. Over raw TCP the serial side's settings live in the device
// server, so a baud rate here would say something the gateway does not set.
std::string line_summary(const PortConfig& p) {
    std::string baud = std::to_string(p.baud) + " baud";
    if (!is_network_path(p.path)) return p.path + " at " + baud;
    if (p.driver.as_string() == "modbus-tcp") return p.path + " (Modbus TCP)";
    if (p.path.rfind("rfc2217://", 0) == 0) return p.path + " at " + baud + ", asked of the RFC 2217 server";
    return p.path + " (raw TCP: the serial line's settings are the device server's)";
}

}  // namespace

int run(const Args& args) {
    allow_only(args, {"--config"}, {"--verbose"});
    std::string file = option(args, "--config");
    if (file.empty()) throw std::invalid_argument("--config FILE is required");
    if (flag(args, "--verbose")) log::set_min_level(log::Level::debug);
    // A remote configuration update restarts the gateway in-process: every part starts again from
    // the version boot selection picks then, exactly as at boot.
    for (;;) {
        Boot boot = boot_config(file, wall_now_ns());
        int status = run_gateway(boot);
        if (status != kRestartGateway) return status;
        log::info("restarting with the configuration boot selection picks now");
    }
}

int check_config(const Args& args) {
    if (args.size() != 1) throw std::invalid_argument("expected exactly one config file");
    Config config;
    try {
        config = load_config(args[0]);
    } catch (const ConfigError& e) {
        for (const auto& message : e.messages()) std::fprintf(stderr, "%s\n", message.c_str());
        std::fprintf(stderr, "%s: %zu error%s\n", args[0].c_str(), e.messages().size(), e.messages().size() == 1 ? "" : "s");
        return 1;
    }
    std::string brokers;
    for (const auto& b : config.uplink.brokers) brokers += (brokers.empty() ? "" : ", ") + b;
    std::printf("%s: OK: gateway %s, broker%s %s, %zu ports\n", args[0].c_str(), config.gateway_id.c_str(),
                config.uplink.brokers.size() > 1 ? "s" : "", brokers.c_str(), config.ports.size());
    for (const auto& p : config.ports)
        std::printf("  port %s: %s, driver %s\n", p.name.c_str(), line_summary(p).c_str(), p.driver.as_string().c_str());
    return 0;
}

}  // namespace loopgate::commands
