// The Prometheus text the metrics endpoint serves, rendered from a real gateway stack (store, uplink,
// bridge, ports) that is built but not started, and read back the way a scraper reads it.

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "gateway/bridge/bridge.hpp"
#include "gateway/config.hpp"
#include "gateway/downlink/command_path.hpp"
#include "gateway/downlink/device_router.hpp"
#include "gateway/ops/device_presence.hpp"
#include "gateway/ops/prometheus.hpp"
#include "gateway/ops/status.hpp"
#include "gateway/serial/port_set.hpp"
#include "gateway/store/store.hpp"
#include "gateway/uplink/batch_publisher.hpp"
#include "gateway/uplink/uplink.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;

namespace {

std::string line_port(const std::string& name, const std::string& path) {
    return "  - name: " + name + "\n    path: " + path +
           "\n    driver: line\n    settings:\n      format: keyvalue\n      fields:\n"
           "        - {field: T, metric: air_temperature, unit: degC}\n    devices:\n      - name: " +
           name + "-dev\n";
}

Config gateway_config(const testing::TempDir& dir, const std::string& ports) {
    std::string yaml = "gateway: {id: test-gw}\nuplink: {broker: tcp://127.0.0.1:1}\nstore: {path: " +
                       (dir.path / "store.db").string() + "}\nports:\n" + ports;
    return parse_config(ConfigNode::load_string(yaml, "t.yaml"));
}

// One parsed exposition: for every family its HELP and TYPE lines, and every sample by its full
// series name (labels included).
struct Scrape {
    std::map<std::string, int> help_lines, type_lines;
    std::map<std::string, std::string> types;
    std::vector<std::string> family_order;
    std::map<std::string, double> samples;
    std::vector<std::string> problems;
};

Scrape scrape(const std::string& text) {
    static const std::regex metric_name("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static const std::regex sample_line(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (\S+))");
    Scrape s;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            std::istringstream words(line.substr(7));
            std::string name, rest;
            words >> name;
            std::getline(words >> std::ws, rest);
            if (!std::regex_match(name, metric_name)) s.problems.push_back("invalid name: " + line);
            if (line[2] == 'H') {
                if (s.help_lines[name]++ == 0) s.family_order.push_back(name);
                if (rest.empty()) s.problems.push_back("empty HELP: " + line);
            } else {
                ++s.type_lines[name];
                s.types[name] = rest;
                if (rest != "counter" && rest != "gauge") s.problems.push_back("unknown TYPE: " + line);
            }
        } else if (std::regex_match(line, m, sample_line)) {
            std::string family = m[1];
            if (!s.type_lines.count(family)) s.problems.push_back("sample before its TYPE: " + line);
            std::string series = line.substr(0, line.rfind(' '));
            if (s.samples.count(series)) s.problems.push_back("duplicate series: " + line);
            try {
                s.samples[series] = std::stod(m[5]);
            } catch (const std::exception&) {
                s.problems.push_back("value is not a number: " + line);
            }
        } else {
            s.problems.push_back("not a Prometheus line: " + line);
        }
    }
    return s;
}

}  // namespace

TEST_CASE("metrics text: every family declared once, valid names, one series per label set", "[metrics]") {
    testing::TempDir dir{"metrics"};
    Config config = gateway_config(dir, line_port("met", "/dev/loopgate-test-absent-1") +
                                            line_port("aux", "/dev/loopgate-test-absent-2"));
    boost::asio::io_context io;
    Store store(config.store.path, StoreLimits{1ull << 30, 0, 64u << 20});
    Uplink uplink(io, config);
    NativePublisher publisher(uplink, config);
    UplinkAdapter uplink_port(uplink);
    Bridge bridge(io, config, store, uplink_port, publisher);
    DevicePresence devices;
    PortSet ports(io, [](std::vector<Reading>&) {});
    for (const PortConfig& port : config.ports) ports.add(port);

    Reading online;
    online.device = "met-dev";
    online.metric = "online";
    online.value = true;
    Reading offline = online;
    offline.device = "aux-dev";
    offline.value = false;
    Reading temperature = online;
    temperature.metric = "air_temperature";
    temperature.value = 21.5;
    devices.observe({online, offline, temperature});

    ReportCounts report;
    DeviceRouter router(ports.slots());
    CommandsConfig commands_config;
    CommandPath commands(commands_config, router);
    PendingCommand pump;
    pump.device = "pump";
    pump.point = "speed";
    commands.refused(pump, "unknown_device", "no port has a device 'pump'");

    GatewayView view{config, store, bridge, uplink, ports.slots(), devices, report, commands.counters(), nullptr};
    const std::string text = prometheus_text(view);
    Scrape s = scrape(text);
    INFO(text);

    CHECK(s.problems == std::vector<std::string>{});
    for (const std::string& family : s.family_order) {
        INFO(family);
        CHECK(s.help_lines[family] == 1);
        CHECK(s.type_lines[family] == 1);
        if (s.types[family] == "counter") CHECK(family.size() > 6);
        if (s.types[family] == "counter") CHECK(family.substr(family.size() - 6) == "_total");
    }
    CHECK(s.type_lines.size() == s.help_lines.size());

    // The names dashboards and alerts are written against.
    CHECK(s.family_order == std::vector<std::string>{
                                "loopgate_readings_total",
                                "loopgate_batches_published_total",
                                "loopgate_batches_replayed_total",
                                "loopgate_store_batches",
                                "loopgate_store_bytes",
                                "loopgate_store_oldest_age_seconds",
                                "loopgate_dropped_readings_total",
                                "loopgate_store_file_bytes",
                                "loopgate_store_used_bytes",
                                "loopgate_store_damaged_parts_total",
                                "loopgate_store_recoveries_total",
                                "loopgate_store_commit_failures_total",
                                "loopgate_store_sync_failures_total",
                                "loopgate_store_read_failures_total",
                                "loopgate_store_unwritten_batches_total",
                                "loopgate_report_suppressed_total",
                                "loopgate_report_throttled_total",
                                "loopgate_report_heartbeats_total",
                                "loopgate_report_offline_total",
                                "loopgate_names_over_limit_total",
                                "loopgate_names_untracked_total",
                                "loopgate_disk_bytes_written_total",
                                "loopgate_uplink_connected",
                                "loopgate_uplink_reconnects_total",
                                "loopgate_uplink_broker_in_use",
                                "loopgate_uplink_failovers_total",
                                "loopgate_uplink_failbacks_total",
                                "loopgate_uplink_client_id_conflict",
                                "loopgate_publish_failures_total",
                                "loopgate_clock_synchronized",
                                "loopgate_clock_source_failed",
                                "loopgate_port_open",
                                "loopgate_port_bytes_read_total",
                                "loopgate_port_failures_total",
                                "loopgate_driver_events_total",
                                "loopgate_commands_total",
                                "loopgate_commands_refused_total",
                                "loopgate_commands_failed_total",
                                "loopgate_config_version",
                                "loopgate_config_state_unreadable",
                                "loopgate_config_updates_total",
                                "loopgate_device_online",
                            });

    // A gateway that has not started: nothing read, nothing connected, both ports closed.
    CHECK(s.samples.at("loopgate_readings_total") == 0);
    CHECK(s.samples.at("loopgate_uplink_connected") == 0);
    CHECK(s.samples.at("loopgate_store_batches") == 0);
    CHECK(s.samples.at(R"(loopgate_port_open{port="met"})") == 0);
    CHECK(s.samples.at(R"(loopgate_port_open{port="aux"})") == 0);
    CHECK(s.samples.count(R"(loopgate_port_bytes_read_total{port="aux"})") == 1);
    CHECK(s.samples.count(R"(loopgate_driver_events_total{port="met",counter="unmatched_lines"})") == 1);
    // Only `online` readings count, and offline is reported as 0, not left out.
    CHECK(s.samples.at(R"(loopgate_device_online{device="met-dev"})") == 1);
    CHECK(s.samples.at(R"(loopgate_device_online{device="aux-dev"})") == 0);
    CHECK(devices.online().size() == 2);
    // Command counters: every label of the fixed sets from zero, so a rate() sees the first one.
    CHECK(s.samples.at(R"(loopgate_commands_total{outcome="refused"})") == 1);
    CHECK(s.samples.at(R"(loopgate_commands_total{outcome="ok"})") == 0);
    CHECK(s.samples.at(R"(loopgate_commands_total{outcome="timeout"})") == 0);
    CHECK(s.samples.at(R"(loopgate_commands_refused_total{reason="unknown_device"})") == 1);
    CHECK(s.samples.at(R"(loopgate_commands_refused_total{reason="rate"})") == 0);
    CHECK(s.samples.at(R"(loopgate_commands_failed_total{reason="gateway_stopping"})") == 0);
    CHECK(s.samples.at(R"(loopgate_commands_failed_total{reason="device_exception"})") == 0);
    // The status document carries the same counts.
    CHECK_THAT(status_json(view, "online"),
               Catch::Contains(R"("commands":{"by_outcome":{"failed":0,"ok":0,"refused":1,"timeout":0},"refused":{)") &&
                   Catch::Contains(R"("unknown_device":1)") && Catch::Contains(R"("failed":{"device_exception":0,)"));
}

TEST_CASE("metrics text: label values are escaped, empty families are still declared", "[metrics]") {
    const std::vector<PrometheusMetric> table{
        {"x_events_total", PrometheusType::counter, "Events.", nullptr,
         [] { return std::vector<PrometheusSample>{{{{"port", "a\"b\\c\nd"}, {"counter", "ok"}}, 3}}; }},
        {"x_idle", PrometheusType::gauge, "Declared with no series.", nullptr, [] { return std::vector<PrometheusSample>{}; }},
        {"x_big_total", PrometheusType::counter, "Exact up to 2^53.", [] { return 9007199254740992.0; }},
    };
    CHECK(render_prometheus(table) ==
          "# HELP x_events_total Events.\n# TYPE x_events_total counter\n"
          "x_events_total{port=\"a\\\"b\\\\c\\nd\",counter=\"ok\"} 3\n"
          "# HELP x_idle Declared with no series.\n# TYPE x_idle gauge\n"
          "# HELP x_big_total Exact up to 2^53.\n# TYPE x_big_total counter\n"
          "x_big_total 9007199254740992\n");
}

TEST_CASE("port set: a reload keeps unchanged ports, restarts changed ones, adds and removes", "[reload]") {
    testing::TempDir dir{"metrics"};
    Config before = gateway_config(dir, line_port("kept", "/dev/loopgate-test-absent-1") +
                                            line_port("changed", "/dev/loopgate-test-absent-2") +
                                            line_port("removed", "/dev/loopgate-test-absent-3"));
    Config after = gateway_config(dir, line_port("kept", "/dev/loopgate-test-absent-1") +
                                           line_port("changed", "/dev/loopgate-test-absent-9") +
                                           line_port("new", "/dev/loopgate-test-absent-4"));
    boost::asio::io_context io;
    PortSet ports(io, [](std::vector<Reading>&) {});
    for (const PortConfig& port : before.ports) ports.add(port);
    std::list<PortSlot>& slots = ports.slots();
    PortSession* kept = slots.front().session.get();

    PortChanges c = ports.replace_with(after.ports);
    CHECK(c.kept == 1);
    CHECK(c.restarted == 1);
    CHECK(c.added == 1);
    CHECK(c.removed == 1);
    std::set<std::string> names;
    for (PortSlot& slot : slots) names.insert(slot.config->name);
    CHECK(names == std::set<std::string>{"kept", "changed", "new"});
    CHECK(slots.front().session.get() == kept);
    for (PortSlot& slot : slots)
        if (slot.config->name == "changed") CHECK(slot.config->path == "/dev/loopgate-test-absent-9");
    io.run();  // the retired sessions go once their queued completions have run
}
