#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <mqtt/async_client.h>

#include "cli/commands.hpp"
#include "gateway/config.hpp"

namespace loopgate::commands {

const char* const catalog_usage =
    "usage: loopgate catalog --gateway ID [--clear] [--broker URI | --config FILE] [--prefix P]\n"
    "                        [--timeout SECONDS]\n"
    "\n"
    "Prints the catalog a gateway keeps retained on PREFIX/ID/catalog (README \"Catalog\"), or with\n"
    "--clear removes it: publishes an empty retained message, so a retired gateway no longer shows in\n"
    "`loopgate find`. A gateway still running publishes its catalog again at its next connect.\n"
    "\n"
    "options:\n"
    "  --gateway ID       the gateway's id (required)\n"
    "  --clear            remove the retained catalog (QoS 1, waits for the broker's acknowledgement)\n"
    "  --config FILE      take the broker and topic prefix from this gateway config\n"
    "  --broker URI       broker (default tcp://localhost:1883)\n"
    "  --prefix P         topic prefix (default loopgate)\n"
    "  --timeout SECONDS  how long to wait for the retained catalog (default 5); exit 1 without one\n";

int catalog(const Args& args) {
    allow_only(args, {"--gateway", "--broker", "--config", "--prefix", "--timeout"}, {"--clear"});
    std::string gateway = option(args, "--gateway");
    if (gateway.empty()) throw std::invalid_argument("--gateway ID is required");
    std::string broker = option(args, "--broker", "tcp://localhost:1883");
    std::string prefix = option(args, "--prefix", "loopgate");
    if (!option(args, "--config").empty()) {
        if (!option(args, "--broker").empty()) throw std::invalid_argument("give --broker or --config, not both");
        Config c = load_config(option(args, "--config"));
        broker = c.uplink.broker;
        if (option(args, "--prefix").empty()) prefix = c.uplink.topic_prefix;
    }
    const std::string topic = prefix + "/" + gateway + "/catalog";
    if (topic.find_first_of("+#") != std::string::npos) throw std::invalid_argument("--gateway and --prefix take no wildcards");
    const double timeout = number_option(args, "--timeout", 5, 0.1);

    mqtt::async_client client(broker, "loopgate-catalog-" + std::to_string(::getpid()), mqtt::create_options(), nullptr);
    auto opts = mqtt::connect_options_builder().clean_session(true).connect_timeout(std::chrono::seconds(5)).finalize();
    try {
        client.connect(opts)->wait();
    } catch (const mqtt::exception& e) {
        std::fprintf(stderr, "catalog: cannot connect to %s: %s\n", broker.c_str(), e.what());
        return 2;
    }
    int rc = 0;
    if (flag(args, "--clear")) {
        client.publish(mqtt::make_message(topic, std::string(), 1, true))->wait();
        std::fprintf(stderr, "catalog: cleared %s on %s\n", topic.c_str(), broker.c_str());
    } else {
        client.start_consuming();
        client.subscribe(topic, 1)->wait();
        mqtt::const_message_ptr msg;
        if (client.try_consume_message_for(&msg, std::chrono::milliseconds(static_cast<long>(timeout * 1000))) && msg &&
            !msg->get_payload().empty()) {
            std::printf("%s\n", msg->to_string().c_str());
        } else {
            std::fprintf(stderr, "catalog: no catalog retained on %s within %gs\n", topic.c_str(), timeout);
            rc = 1;
        }
    }
    client.disconnect()->wait_for(std::chrono::seconds(2));
    return rc;
}

}  // namespace loopgate::commands
