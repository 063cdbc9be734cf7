// loopgate: a serial-to-MQTT edge gateway.

#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "cli/commands.hpp"
#include "core/config_node.hpp"
#include "gateway/ops/protobuf_log.hpp"

namespace {

const char* usage =
    "usage: loopgate <command> [options]\n"
    "\n"
    "commands:\n"
    "  run --config FILE [--verbose]      run the gateway\n"
    "  check-config FILE                   validate a config file (exit 0), or print each error (exit 1)\n"
    "  list-ports                          list serial ports: path, description, USB VID:PID, serial number\n"
    "  tail [--config FILE | --broker URI] [--prefix P] [--gateway ID] [--count N] [--timeout SECONDS]\n"
    "                                      print the readings gateways publish, as they arrive\n"
    "  decode --driver NAME [--config FILE] [--port NAME]\n"
    "                                      decode a raw capture on stdin; one JSON reading per line\n"
    "  simulate --dir DIR [--line NAME]... [--nmea NAME=CAPTURE]... [--modbus NAME=UNIT]... [--interval MS]\n"
    "                                      fake sensors on pseudo-terminals, linked as DIR/NAME\n"
    "  keygen --out PREFIX                 new Ed25519 key pair: PREFIX.key (mode 0600) and PREFIX.pub\n"
    "  verify --key PUB [--file F]         check a captured signed batch (stdin without --file)\n"
    "  --version                           print the version\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace loopgate::commands;
    loopgate::route_protobuf_logs();
    if (argc < 2) {
        std::fputs(usage, stderr);
        return 2;
    }
    std::string command = argv[1];
    Args args(argv + 2, argv + argc);
    if (command == "--version" || command == "version") {
        std::printf("loopgate %s\n", LOOPGATE_VERSION);
        return 0;
    }
    if (command == "--help" || command == "-h" || command == "help") {
        std::fputs(usage, stdout);
        return 0;
    }
    static const std::map<std::string, int (*)(const Args&)> table = {
        {"run", run},           {"check-config", check_config}, {"list-ports", list_ports},
        {"tail", tail},         {"decode", decode},             {"simulate", simulate},
        {"keygen", keygen},     {"verify", verify},
    };
    auto it = table.find(command);
    if (it == table.end()) {
        std::fprintf(stderr, "loopgate: unknown command '%s'\n\n%s", command.c_str(), usage);
        return 2;
    }
    try {
        return it->second(args);
    } catch (const loopgate::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "loopgate %s: %s\n", command.c_str(), e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "loopgate %s: %s\n", command.c_str(), e.what());
        return 1;
    }
}
