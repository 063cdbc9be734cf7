// loopgate: a serial-to-MQTT edge gateway.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.hpp"
#include "core/config_node.hpp"
#include "gateway/ops/protobuf_log.hpp"

namespace {

using namespace loopgate::commands;

struct Command {
    const char* name;
    int (*run)(const Args&);
    const char* summary;  // the line `loopgate --help` shows
    const char* const* usage;  // what `loopgate NAME --help` shows
};

const Command commands[] = {
    {"run", run, "run the gateway", &run_usage},
    {"check-config", check_config, "validate a config file; print every error found", &check_config_usage},
    {"list-ports", list_ports, "list serial ports: path, description, USB VID:PID, serial number", &list_ports_usage},
    {"tail", tail, "print the readings gateways publish, as they arrive", &tail_usage},
    {"decode", decode, "decode a raw capture on stdin; one JSON reading per line", &decode_usage},
    {"mbus-scan", mbus_scan, "list the M-Bus meters on a line: id, manufacturer, medium, version", &mbus_scan_usage},
    {"simulate", simulate, "fake sensors on pseudo-terminals", &simulate_usage},
    {"keygen", keygen, "new Ed25519 key pair for signing and operator keys", &keygen_usage},
    {"verify", verify, "check a captured signed batch", &verify_usage},
    {"status", status, "a running gateway's status page as a table in the terminal", &status_usage},
    {"passwd", passwd, "a password hash for the status page's login (gateway.http.users)", &passwd_usage},
    {"config", config, "push a signed config to a gateway; revert to the local file", &config_usage},
    {"find", find, "search the gateways' catalogs for devices and metrics", &find_usage},
    {"catalog", catalog, "show or clear (--clear) a gateway's retained catalog", &catalog_usage},
};

void print_usage(std::FILE* to) {
    std::fputs("usage: loopgate <command> [options]\n\ncommands:\n", to);
    for (const Command& c : commands) std::fprintf(to, "  %-14s %s\n", c.name, c.summary);
    std::fputs("\n"
               "  --help, -h     this list; `loopgate <command> --help` shows a command's options\n"
               "  --version      print the version\n",
               to);
}

bool asks_for_help(const Args& args) {
    return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

}  // namespace

int main(int argc, char** argv) {
    loopgate::route_protobuf_logs();
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    std::string name = argv[1];
    Args args(argv + 2, argv + argc);
    if (name == "--version" || name == "version") {
        std::printf("loopgate %s\n", LOOPGATE_VERSION);
        return 0;
    }
    if (name == "--help" || name == "-h" || name == "help") {
        // `loopgate help tail` is `loopgate tail --help`.
        if (args.empty()) {
            print_usage(stdout);
            return 0;
        }
        name = args[0];
        args = {"--help"};
    }
    const Command* command = std::find_if(std::begin(commands), std::end(commands),
                                          [&](const Command& c) { return name == c.name; });
    if (command == std::end(commands)) {
        std::fprintf(stderr, "loopgate: unknown command '%s'\n\n", name.c_str());
        print_usage(stderr);
        return 2;
    }
    if (asks_for_help(args)) {
        std::fputs(*command->usage, stdout);
        return 0;
    }
    try {
        return command->run(args);
    } catch (const loopgate::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "loopgate %s: %s (see loopgate %s --help)\n", name.c_str(), e.what(), name.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "loopgate %s: %s\n", name.c_str(), e.what());
        return 1;
    }
}
