#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <mqtt/async_client.h>

#include "cli/commands.hpp"
#include "core/reading_json.hpp"
#include "gateway/config.hpp"
#include "gateway/store/batch_payload.hpp"

namespace loopgate::commands {

const char* const tail_usage =
    "usage: loopgate tail [--config FILE | --broker URI] [--prefix P] [--gateway ID] [--count N]\n"
    "                     [--timeout SECONDS] [--json]\n"
    "\n"
    "Subscribes to the readings gateways publish and prints them as they arrive, one reading per\n"
    "line (a batch message holds many). The retained status document is printed as\n"
    "'TOPIC  {json}' lines among them, except with --json.\n"
    "\n"
    "options:\n"
    "  --config FILE      take broker, topic prefix and gateway id from this gateway config\n"
    "  --broker URI       broker to subscribe on (default tcp://localhost:1883)\n"
    "  --prefix P         topic prefix (default loopgate)\n"
    "  --gateway ID       one gateway's topics (default + for all)\n"
    "  --count N          exit 0 after N readings (default 0: run until interrupted)\n"
    "  --timeout SECONDS  give up after this long; exit 1 if --count readings did not arrive\n"
    "  --json             readings only, one JSON object per line (device, metric, value, unit,\n"
    "                     quality, source_time, receive_time); status documents are left out\n";

int tail(const Args& args) {
    allow_only(args, {"--config", "--broker", "--prefix", "--gateway", "--count", "--timeout"}, {"--json"});
    std::string broker = option(args, "--broker", "tcp://localhost:1883");
    std::string prefix = option(args, "--prefix", "loopgate");
    std::string gateway = option(args, "--gateway", "+");
    if (!option(args, "--config").empty()) {
        Config c = load_config(option(args, "--config"));
        broker = c.uplink.broker;
        prefix = c.uplink.topic_prefix;
        gateway = c.gateway_id;
    }
    auto count = static_cast<long>(number_option(args, "--count", 0));
    double timeout = number_option(args, "--timeout", 0);
    bool json = flag(args, "--json");

    mqtt::async_client client(broker, "loopgate-tail-" + std::to_string(::getpid()), mqtt::create_options(), nullptr);
    client.start_consuming();
    auto opts = mqtt::connect_options_builder().clean_session(true).connect_timeout(std::chrono::seconds(5)).finalize();
    client.connect(opts)->wait();
    client.subscribe(prefix + "/" + gateway + "/data", 1)->wait();
    client.subscribe(prefix + "/" + gateway + "/status", 1)->wait();
    std::fprintf(stderr, "tail: subscribed to %s/%s/{data,status} on %s\n", prefix.c_str(), gateway.c_str(), broker.c_str());

    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    long seen = 0;  // readings, not messages: one batch carries many
    auto done = [&] { return count > 0 && seen >= count; };
    while (!done()) {
        auto left = timeout > 0 ? deadline - std::chrono::steady_clock::now() : std::chrono::hours(24);
        if (left <= std::chrono::steady_clock::duration::zero()) break;
        mqtt::const_message_ptr msg;
        if (!client.try_consume_message_for(&msg, std::min<std::chrono::steady_clock::duration>(left, std::chrono::seconds(1)))) continue;
        if (!msg) break;  // connection lost
        const std::string& topic = msg->get_topic();
        if (topic.size() > 7 && topic.compare(topic.size() - 7, 7, "/status") == 0) {
            // --json promises one reading per line; a status document is not one.
            if (!json) {
                std::printf("%s  %s\n", topic.c_str(), msg->to_string().c_str());
                std::fflush(stdout);
            }
            continue;
        }
        v1::Batch batch;
        if (!batch.ParseFromString(msg->to_string())) {
            std::fprintf(stderr, "tail: %s: payload is not a Loopgate batch (%zu bytes)\n", topic.c_str(), msg->get_payload().size());
            continue;
        }
        for (const auto& p : batch.readings()) {
            if (done()) break;  // --count N means N readings, even from the middle of a batch
            Reading r = from_proto(p);
            if (json) std::printf("%s\n", to_json_line(r).c_str());
            else std::printf("%s%s %s\n", batch.gateway_id().c_str(), batch.historical() ? " (replayed)" : "", to_human_line(r).c_str());
            ++seen;
        }
        std::fflush(stdout);
    }
    client.disconnect()->wait_for(std::chrono::seconds(2));
    return count == 0 || seen >= count ? 0 : 1;
}

}  // namespace loopgate::commands
