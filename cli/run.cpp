#include "cli/commands.hpp"
#include "core/log.hpp"
#include "gateway/config.hpp"
#include "gateway/gateway.hpp"

namespace loopgate::commands {

int run(const Args& args) {
    allow_only(args, {"--config"}, {"--verbose"});
    std::string file = option(args, "--config");
    if (file.empty()) throw std::invalid_argument("--config FILE is required");
    if (flag(args, "--verbose")) log::set_min_level(log::Level::debug);
    Config config = load_config(file);
    return run_gateway(config);
}

int check_config(const Args& args) {
    if (args.size() != 1) throw std::invalid_argument("expected exactly one config file");
    Config config = load_config(args[0]);
    std::printf("%s: OK: gateway %s, broker %s, %zu ports\n", args[0].c_str(), config.gateway_id.c_str(),
                config.uplink.broker.c_str(), config.ports.size());
    for (const auto& p : config.ports)
        std::printf("  port %s: %s at %u baud, driver %s\n", p.name.c_str(), p.path.c_str(), p.baud,
                    p.driver.as_string().c_str());
    return 0;
}

}  // namespace loopgate::commands
