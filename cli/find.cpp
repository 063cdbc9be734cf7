#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <tuple>

#include <mqtt/async_client.h>

#include "cli/commands.hpp"
#include "core/reading_json.hpp"
#include "gateway/catalog/catalog_match.hpp"
#include "gateway/config.hpp"
#include "gateway/store/batch_payload.hpp"
#include "loopgate.pb.h"

namespace loopgate::commands {

const char* const find_usage =
    "usage: loopgate find WORDS... [--broker URI | --config FILE] [--prefix P] [--label KEY=VALUE]...\n"
    "                     [--values] [--json] [--timeout SECONDS] [--quiet SECONDS]\n"
    "\n"
    "Searches the catalogs gateways keep retained on PREFIX/+/catalog and prints every metric whose\n"
    "gateway, device, metric name, unit, description or labels contain every word (ASCII letters\n"
    "case-insensitive) and whose device or gateway has every label given: gateway, device, metric,\n"
    "unit and data topic, one per line, as the catalogs arrive. The search ends when no catalog\n"
    "arrived for --quiet seconds (the broker sends retained messages first), or at --timeout.\n"
    "Exit 0 when something matched, 1 when nothing did.\n"
    "\n"
    "options:\n"
    "  --config FILE      take the broker and topic prefix from this gateway config\n"
    "  --broker URI       broker to search (default tcp://localhost:1883)\n"
    "  --prefix P         topic prefix (default loopgate)\n"
    "  --label KEY=VALUE  only devices (or gateways) with this label; repeatable\n"
    "  --values           then wait, up to --timeout, for each match's latest reading on its data topic\n"
    "                     and print it with its time (matches printed once, at the end)\n"
    "  --json             one JSON object per line (with --values: value, quality, time)\n"
    "  --timeout SECONDS  the longest the search (and then the wait for values) may take (default 10)\n"
    "  --quiet SECONDS    end the search after this long without a catalog (default 1)\n";

namespace {

// Names come from whoever can publish a catalog: no control character reaches the terminal.
std::string printable(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            out += '?';
        } else if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
            out += '?';  // C1 control
            ++i;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string human_line(const CatalogMatch& m) {
    return printable(m.gateway) + "\t" + printable(m.device) + "\t" + printable(m.metric) + "\t" +
           (m.unit.empty() ? "-" : printable(m.unit)) + "\t" + printable(m.topic);
}

using Key = std::tuple<std::string, std::string, std::string>;  // gateway, device, metric

}  // namespace

int find(const Args& args) {
    Args words_args, option_args;
    static const std::set<std::string> with_value = {"--config", "--broker", "--prefix", "--label", "--timeout", "--quiet"};
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) != 0) {
            words_args.push_back(a);
            continue;
        }
        option_args.push_back(a);
        if (with_value.count(a) && i + 1 < args.size()) option_args.push_back(args[++i]);
    }
    allow_only(option_args, {"--config", "--broker", "--prefix", "--label", "--timeout", "--quiet"}, {"--values", "--json"});
    std::string broker = option(option_args, "--broker", "tcp://localhost:1883");
    std::string prefix = option(option_args, "--prefix", "loopgate");
    if (!option(option_args, "--config").empty()) {
        if (!option(option_args, "--broker").empty()) throw std::invalid_argument("give --broker or --config, not both");
        Config c = load_config(option(option_args, "--config"));
        broker = c.uplink.broker;
        if (option(option_args, "--prefix").empty()) prefix = c.uplink.topic_prefix;
    }
    FindQuery query;
    query.words = words_args;
    for (const std::string& l : options(option_args, "--label")) {
        std::pair<std::string, std::string> label;
        if (!parse_label_query(l, label)) throw std::invalid_argument("--label expects KEY=VALUE, got '" + l + "'");
        query.labels.push_back(label);
    }
    const bool values = flag(option_args, "--values");
    const bool json = flag(option_args, "--json");
    const double timeout = number_option(option_args, "--timeout", 10, 0.1);
    const double quiet = number_option(option_args, "--quiet", 1, 0.05);
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + std::chrono::milliseconds(static_cast<long>(timeout * 1000));

    // Matching runs on Paho's receive thread, one catalog at a time: while it works the socket is not
    // read, so a fleet's catalogs wait in the broker and the kernel, never all in this process.
    std::mutex mutex;
    std::condition_variable woke;
    auto last_catalog = started;
    std::uint64_t catalogs = 0, refused = 0, matched = 0;
    std::vector<CatalogMatch> held;                    // --values: printed with their values at the end
    std::map<Key, std::size_t> wanted;                 // --values: match -> index in held
    std::map<Key, std::pair<Reading, std::int64_t>> latest;  // reading and its batch's gateway time
    std::map<std::string, bool> data_topics;           // --values: data topic -> carries SignedBatch
    bool searching = true;

    mqtt::async_client client(broker, "loopgate-find-" + std::to_string(::getpid()), mqtt::create_options(), nullptr);
    client.set_message_callback([&](mqtt::const_message_ptr msg) {
        const std::string& topic = msg->get_topic();
        const std::string& payload = msg->get_payload_str();
        std::unique_lock lock(mutex);
        if (topic.size() > 8 && topic.compare(topic.size() - 8, 8, "/catalog") == 0) {
            if (!searching) return;
            last_catalog = std::chrono::steady_clock::now();
            if (payload.empty()) return;  // a cleared catalog
            ++catalogs;
            lock.unlock();
            CatalogMatches r = match_catalog(payload, query);
            lock.lock();
            if (!r.ok) {
                ++refused;
                std::fprintf(stderr, "find: %s: not a catalog (%s)\n", printable(topic).c_str(), r.error.c_str());
                return;
            }
            for (CatalogMatch& m : r.matches) {
                ++matched;
                if (values) {
                    wanted.emplace(Key{m.gateway, m.device, m.metric}, held.size());
                    data_topics[m.topic] = m.payload_type == "loopgate.v1.SignedBatch";
                    held.push_back(std::move(m));
                } else {
                    std::printf("%s\n", json ? match_json(m).c_str() : human_line(m).c_str());
                }
            }
            if (!values) std::fflush(stdout);
            return;
        }
        // --values: a data message, a Batch or (the catalog says which) a SignedBatch wrapping one.
        auto kind = data_topics.find(topic);
        if (kind == data_topics.end()) return;
        v1::Batch batch;
        if (kind->second) {
            v1::SignedBatch signed_batch;
            if (!signed_batch.ParseFromString(payload) || !batch.ParseFromString(signed_batch.batch())) return;
        } else if (!batch.ParseFromString(payload)) {
            return;
        }
        for (const auto& p : batch.readings()) {
            Key key{batch.gateway_id(), p.device(), p.metric()};
            if (!wanted.count(key)) continue;
            Reading r = from_proto(p);
            auto& slot = latest[key];
            if (slot.first.receive_time_ns <= r.receive_time_ns) slot = {r, r.receive_time_ns};  // replays arrive late
        }
        woke.notify_all();
    });
    auto opts = mqtt::connect_options_builder().clean_session(true).connect_timeout(std::chrono::seconds(5)).finalize();
    try {
        client.connect(opts)->wait();
    } catch (const mqtt::exception& e) {
        std::fprintf(stderr, "find: cannot connect to %s: %s\n", broker.c_str(), e.what());
        return 2;
    }
    client.subscribe(prefix + "/+/catalog", 0)->wait();

    std::unique_lock lock(mutex);
    const auto quiet_for = std::chrono::milliseconds(static_cast<long>(quiet * 1000));
    bool timed_out = false;
    while (true) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        if (now >= last_catalog + quiet_for) break;
        woke.wait_until(lock, std::min(deadline, last_catalog + quiet_for));
    }
    searching = false;
    const std::uint64_t found = matched;
    std::fprintf(stderr, "find: %llu catalogs read, %llu metrics matched; ended %s\n",
                 static_cast<unsigned long long>(catalogs), static_cast<unsigned long long>(found),
                 timed_out ? "at --timeout" : "after a quiet interval");

    if (values && !held.empty()) {
        std::vector<std::string> topics;
        for (const auto& [t, is_signed] : data_topics) topics.push_back(t);
        lock.unlock();
        for (const std::string& t : topics) client.subscribe(t, 0)->wait();
        lock.lock();
        // Until every match has a value or the time is up; a metric that is steady (report by
        // exception) may say nothing for a long while.
        const auto values_deadline = std::chrono::steady_clock::now() +
                                     std::chrono::milliseconds(static_cast<long>(timeout * 1000));
        while (latest.size() < wanted.size() && std::chrono::steady_clock::now() < values_deadline)
            woke.wait_until(lock, values_deadline);
        for (const CatalogMatch& m : held) {
            auto it = latest.find(Key{m.gateway, m.device, m.metric});
            if (json) {
                std::string line = match_json(m);
                line.pop_back();
                if (it == latest.end()) {
                    line += ",\"value\":null,\"time\":null}";
                } else {
                    const Reading& r = it->second.first;
                    std::string reading = to_json_line(r);  // {"device":..,"metric":..,"value":..,"unit":..}
                    auto v = reading.find(",\"value\":");
                    auto end = reading.find(",\"unit\":");
                    line += reading.substr(v, end - v) + ",\"quality\":\"" + quality_name(r.quality) +
                            "\",\"time\":" + std::to_string(r.source_time_ns.value_or(r.receive_time_ns)) + "}";
                }
                std::printf("%s\n", line.c_str());
            } else if (it == latest.end()) {
                std::printf("%s\t(no value within %gs)\n", human_line(m).c_str(), timeout);
            } else {
                const Reading& r = it->second.first;
                std::printf("%s\t%s\n", human_line(m).c_str(), printable(to_human_line(r)).c_str());
            }
        }
        std::fflush(stdout);
    }
    lock.unlock();
    client.disconnect()->wait_for(std::chrono::seconds(2));
    return found > 0 ? 0 : 1;
}

}  // namespace loopgate::commands
