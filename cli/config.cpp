// loopgate config revert|keygen: the operator's side of signed remote configuration
// (gateway/fleet/; README "Remote configuration").
#include <cstdio>
#include <stdexcept>

#include "cli/commands.hpp"
#include "gateway/config.hpp"
#include "gateway/fleet/config_state.hpp"

namespace loopgate::commands {

const char* const config_usage =
    "usage: loopgate config revert --config FILE\n"
    "       loopgate config keygen --out PREFIX\n"
    "\n"
    "revert  run on the gateway itself: forgets every remotely applied version, so the next start\n"
    "        runs FILE (the factory default in /etc) again. Restart the service afterwards.\n"
    "keygen  the same as `loopgate keygen`: a key pair for remote_config.keys.\n"
    "\n"
    "options:\n"
    "  --config FILE      the gateway's local config file (revert)\n"
    "  --out PREFIX       write PREFIX.key and PREFIX.pub (keygen)\n";

namespace {

int revert(const Args& args) {
    allow_only(args, {"--config"}, {});
    std::string file = option(args, "--config");
    if (file.empty()) throw std::invalid_argument("--config FILE is required");
    Config local = load_config(file);
    if (auto e = revert_remote_config(local); !e.empty()) throw std::runtime_error(e);
    std::printf("reverted: the next start runs %s (remote versions removed from %s)\n", file.c_str(),
                remote_config_dir(local).c_str());
    return 0;
}

}  // namespace

int config(const Args& args) {
    if (args.empty()) throw std::invalid_argument("expected revert or keygen");
    Args rest(args.begin() + 1, args.end());
    if (args[0] == "revert") return revert(rest);
    if (args[0] == "keygen") return keygen(rest);
    throw std::invalid_argument("unknown config command '" + args[0] + "' (expected revert or keygen)");
}

}  // namespace loopgate::commands
