// loopgate config push|revert|keygen: the operator's side of signed remote configuration
// (gateway/fleet/; README "Remote configuration").
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <mqtt/async_client.h>

#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "gateway/config.hpp"
#include "gateway/fleet/config_state.hpp"
#include "gateway/fleet/config_update.hpp"
#include "gateway/security/ed25519.hpp"
#include "gateway/security/sha256.hpp"
#include "gateway/security/signed_bytes.hpp"

namespace loopgate::commands {

const char* const config_usage =
    "usage: loopgate config push --key KEY --broker URI --gateway ID [--version N] [--prefix P]\n"
    "                            [--expires SECONDS] [--timeout SECONDS] FILE\n"
    "       loopgate config revert --config FILE\n"
    "       loopgate config keygen --out PREFIX\n"
    "\n"
    "push    signs FILE with KEY (an Ed25519 private key whose public half is in the gateway's\n"
    "        remote_config.keys), publishes it on PREFIX/ID/config/set and prints every reply from\n"
    "        PREFIX/ID/config/reply until the final one: exit 0 when the version was applied (passed\n"
    "        the health gate), 1 when it was refused, rolled back, or no final reply came in time.\n"
    "revert  run on the gateway itself: forgets every remotely applied version, so the next start\n"
    "        runs FILE (the factory default in /etc) again. Restart the service afterwards.\n"
    "keygen  the same as `loopgate keygen`: a key pair for remote_config.keys.\n"
    "\n"
    "options:\n"
    "  --key KEY          Ed25519 private key PEM (push)\n"
    "  --broker URI       broker the gateway is connected to, tcp://host:1883 (push)\n"
    "  --gateway ID       the gateway's id (push)\n"
    "  --version N        the update's version, above every version sent before (default: the Unix\n"
    "                     time in seconds)\n"
    "  --prefix P         topic prefix (default loopgate)\n"
    "  --expires SECONDS  the update is refused when it arrives later than this (default 300)\n"
    "  --timeout SECONDS  how long to wait for the final reply (default 180: the health gate's\n"
    "                     60 s by default, plus the restarts)\n"
    "  --config FILE      the gateway's local config file (revert)\n"
    "  --out PREFIX       write PREFIX.key and PREFIX.pub (keygen)\n";

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

const char* status_word(v1::ConfigReply::Status s) {
    switch (s) {
    case v1::ConfigReply::ACCEPTED: return "accepted";
    case v1::ConfigReply::REFUSED: return "refused";
    case v1::ConfigReply::APPLIED: return "applied";
    case v1::ConfigReply::ROLLED_BACK: return "rolled back";
    default: return "unknown status";
    }
}

int push(Args args) {
    if (args.empty() || args.back().rfind("--", 0) == 0) throw std::invalid_argument("expected the config FILE last");
    std::string file = args.back();
    args.pop_back();
    allow_only(args, {"--key", "--broker", "--gateway", "--version", "--prefix", "--expires", "--timeout"}, {});
    std::string key_file = option(args, "--key"), broker = option(args, "--broker"), gateway = option(args, "--gateway");
    if (key_file.empty() || broker.empty() || gateway.empty())
        throw std::invalid_argument("--key, --broker and --gateway are required");
    std::string prefix = option(args, "--prefix", "loopgate");
    std::int64_t now = wall_now_ns();
    auto version = static_cast<std::uint64_t>(number_option(args, "--version", static_cast<double>(now / 1'000'000'000), 1));
    double expires_s = number_option(args, "--expires", 300, 1);
    double timeout_s = number_option(args, "--timeout", 180, 1);

    ed25519::Key key = ed25519::Key::load_private(key_file);
    v1::ConfigUpdate update;
    update.set_yaml(read_file(file));
    update.set_version(version);
    update.set_gateway_id(gateway);
    update.set_expires_ns(now + static_cast<std::int64_t>(expires_s * 1e9));
    update.set_key_id(key.id());
    update.set_signature(key.sign(signed_bytes(update)));
    std::string payload;
    update.SerializeToString(&payload);
    std::string sha = sha256_hex(update.yaml());

    mqtt::async_client client(broker, "loopgate-config-push-" + std::to_string(::getpid()), mqtt::create_options(), nullptr);
    client.start_consuming();
    auto opts = mqtt::connect_options_builder().clean_session(true).connect_timeout(std::chrono::seconds(5)).finalize();
    client.connect(opts)->wait();
    std::string base = prefix + "/" + gateway + "/config";
    client.subscribe(base + "/reply", 1)->wait();
    client.publish(mqtt::make_message(base + "/set", payload, 1, false))->wait();
    std::printf("sent version %llu of %s (sha256 %s) to %s/set\n", static_cast<unsigned long long>(version),
                file.c_str(), sha.c_str(), base.c_str());
    std::fflush(stdout);

    int status = 1;
    bool final_reply = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
    while (!final_reply) {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) break;
        mqtt::const_message_ptr msg;
        if (!client.try_consume_message_for(&msg, std::min<std::chrono::steady_clock::duration>(left, std::chrono::seconds(1))))
            continue;
        if (!msg) {
            // The broker connection dropped; the gateway's replies are not retained, so reconnect quickly.
            try {
                client.reconnect()->wait_for(std::chrono::seconds(5));
                client.subscribe(base + "/reply", 1)->wait();
            } catch (const mqtt::exception&) {
            }
            continue;
        }
        v1::ConfigReply reply;
        if (!reply.ParseFromString(msg->to_string()) || reply.version() != version) continue;
        std::printf("version %llu: %s%s%s\n", static_cast<unsigned long long>(reply.version()), status_word(reply.status()),
                    reply.reason().empty() ? "" : ": ", reply.reason().c_str());
        std::fflush(stdout);
        if (reply.status() == v1::ConfigReply::ACCEPTED) continue;
        final_reply = true;
        status = reply.status() == v1::ConfigReply::APPLIED ? 0 : 1;
    }
    if (!final_reply) std::fprintf(stderr, "config push: no final reply within %g s\n", timeout_s);
    client.disconnect()->wait_for(std::chrono::seconds(2));
    return status;
}

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
    if (args.empty()) throw std::invalid_argument("expected push, revert or keygen");
    Args rest(args.begin() + 1, args.end());
    if (args[0] == "push") return push(rest);
    if (args[0] == "revert") return revert(rest);
    if (args[0] == "keygen") return keygen(rest);
    throw std::invalid_argument("unknown config command '" + args[0] + "' (expected push, revert or keygen)");
}

}  // namespace loopgate::commands
