// The catalog (gateway/catalog/): what a gateway's retained catalog says for a config, the metrics
// seen and the devices' online state; when it goes out again; and how `loopgate find` matches it.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/registry.hpp"
#include "gateway/catalog/catalog.hpp"
#include "gateway/catalog/catalog_match.hpp"
#include "gateway/catalog/catalog_pacer.hpp"
#include "gateway/config.hpp"
#include "gateway/report/report_plan.hpp"

using namespace loopgate;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

const char* const kStation = R"(
gateway:
  id: pump-7
  labels: {site: north, area: pumps}
uplink: {broker: "tcp://127.0.0.1:1883", topic_prefix: plant}
store: {path: /tmp/x.db}
commands: {enabled: true}
ports:
  - name: meter-bus
    path: /dev/ttyUSB0
    driver: modbus-rtu
    rs485: {mode: kernel}
    report: {max_silence: 5min}
    devices:
      - name: meter
        unit: 3
        labels: {cell: "4"}
        descriptions: {voltage_l1: "phase 1 voltage at the incomer"}
        points:
          - {name: voltage_l1, table: input, address: 0, type: float32, unit: V, deadband: 0.5}
          - {name: setpoint, table: holding, address: 10, type: int16, unit: degC, writable: true, min: 5, max: 80}
          - {name: flow, table: holding, address: 20, type: uint16, unit: "m3/h", scale: 0.1}
  - name: weather
    path: /dev/ttyUSB1
    driver: line
    settings: {fields: [{field: T, metric: air_temperature, unit: degC}, {field: N, type: int}]}
    devices: [{name: ws1, labels: {area: roof}}]
  - name: gps
    path: /dev/ttyUSB2
    driver: nmea0183
    devices: [{name: gps1}]
)";

struct Built {
    Config config;
    std::vector<std::unique_ptr<Driver>> drivers;
    std::map<std::string, std::map<std::string, Reading>> seen;
    std::map<std::string, bool> online;

    Json catalog() {
        CatalogSources s;
        s.config = &config;
        s.version = "9.9.9";
        s.config_version = 4;
        s.config_sha256 = "abc";
        for (std::size_t i = 0; i < config.ports.size(); ++i) {
            CatalogPort p;
            p.config = &config.ports[i];
            p.devices = drivers[i]->device_names();
            p.report = report_plan(config.ports[i], *drivers[i]);
            s.ports.push_back(std::move(p));
        }
        s.seen = &seen;
        s.online = &online;
        return Json::parse(catalog_json(s));
    }
};

Built station(const std::string& yaml = kStation) {
    Built b{parse_config(ConfigNode::load_string(yaml, "t.yaml")), {}, {}, {}};
    for (const PortConfig& p : b.config.ports) b.drivers.push_back(make_driver(p.driver, driver_spec(p)));
    return b;
}

const Json& device(const Json& catalog, const std::string& name) {
    for (const Json& d : catalog["devices"])
        if (d["name"] == name) return d;
    FAIL("no device " << name);
    static Json none;
    return none;
}

const Json& metric(const Json& device, const std::string& name) {
    for (const Json& m : device["metrics"])
        if (m["name"] == name) return m;
    FAIL("no metric " << name << " in " << device["name"]);
    static Json none;
    return none;
}

Reading seen(const std::string& device, const std::string& name, Value v, const std::string& unit = "") {
    Reading r;
    r.device = device;
    r.metric = name;
    r.value = std::move(v);
    r.unit = unit;
    return r;
}

}  // namespace

TEST_CASE("catalog: the gateway, its labels, versions and topics", "[catalog]") {
    Json c = station().catalog();
    CHECK(c["schema"] == 1);
    CHECK(c["gateway"]["id"] == "pump-7");
    CHECK(c["gateway"]["version"] == "9.9.9");
    CHECK(c["gateway"]["config_version"] == 4);
    CHECK(c["gateway"]["config_sha256"] == "abc");
    CHECK(c["gateway"]["labels"] == Json({{"site", "north"}, {"area", "pumps"}}));
    CHECK(c["topics"]["data"] == "plant/pump-7/data");
    CHECK(c["topics"]["data_payload"] == "loopgate.v1.Batch");
    CHECK(c["topics"]["status"] == "plant/pump-7/status");
    CHECK(c["topics"]["command"] == "plant/pump-7/cmd");
}

TEST_CASE("catalog: each port with driver, transport and path", "[catalog]") {
    Json c = station().catalog();
    REQUIRE(c["ports"].size() == 3);
    CHECK(c["ports"][0] == Json({{"name", "meter-bus"}, {"driver", "modbus-rtu"}, {"transport", "rs485"}, {"path", "/dev/ttyUSB0"}}));
    CHECK(c["ports"][1]["transport"] == "serial");
    CHECK(c["ports"][2]["driver"] == "nmea0183");
}

TEST_CASE("catalog: devices with address, labels and online state", "[catalog]") {
    Built b = station();
    b.online["meter"] = false;
    Json c = b.catalog();
    const Json& meter = device(c, "meter");
    CHECK(meter["port"] == "meter-bus");
    CHECK(meter["driver"] == "modbus-rtu");
    CHECK(meter["address"] == Json({{"unit", 3}}));
    CHECK(meter["labels"] == Json({{"cell", "4"}}));
    CHECK(meter["online"] == false);
    CHECK(device(c, "ws1")["online"].is_null());  // no verdict yet: not known, rather than offline
    CHECK(device(c, "ws1")["labels"] == Json({{"area", "roof"}}));
    CHECK(device(c, "gps1")["address"].is_null());
}

TEST_CASE("catalog: configured metrics with type, unit, description, limits and report settings", "[catalog]") {
    Json c = station().catalog();
    const Json& meter = device(c, "meter");
    REQUIRE(meter["metrics"].size() == 3);
    const Json& v = metric(meter, "voltage_l1");
    CHECK(v["type"] == "double");
    CHECK(v["unit"] == "V");
    CHECK(v["description"] == "phase 1 voltage at the incomer");
    CHECK(v["writable"] == false);
    CHECK_FALSE(v.contains("command"));
    CHECK(v["report"] == Json({{"deadband", 0.5}, {"max_silence_ms", 300000}}));
    CHECK(v["topic"] == "plant/pump-7/data");

    const Json& sp = metric(meter, "setpoint");
    CHECK(sp["type"] == "int");
    CHECK(sp["writable"] == true);
    CHECK(sp["min"] == 5);
    CHECK(sp["max"] == 80);
    CHECK(sp["command"]["topic"] == "plant/pump-7/cmd");
    CHECK(sp["command"]["device"] == "meter");
    CHECK(sp["command"]["point"] == "setpoint");
    CHECK(sp["command"]["payload"] == "loopgate.v1.Command");

    const Json& flow = metric(meter, "flow");
    CHECK(flow["type"] == "double");  // a scaled register publishes a double
    CHECK(flow["scale"] == 0.1);
    CHECK(flow["unit"] == "m3/h");

    const Json& ws = device(c, "ws1");
    CHECK(metric(ws, "air_temperature")["unit"] == "degC");
    CHECK(metric(ws, "N")["type"] == "int");
}

TEST_CASE("catalog: writable points are not commandable while commands are off", "[catalog]") {
    std::string yaml = kStation;
    yaml.replace(yaml.find("commands: {enabled: true}"), 25, "commands: {enabled: false}");
    Json c = station(yaml).catalog();
    CHECK(c["topics"]["command"].is_null());
    CHECK(metric(device(c, "meter"), "setpoint")["writable"] == false);
}

TEST_CASE("catalog: metrics seen are added, their type and unit as published, online is the device's", "[catalog]") {
    Built b = station();
    b.seen["gps1"]["latitude"] = seen("gps1", "latitude", 52.1, "deg");
    b.seen["gps1"]["online"] = seen("gps1", "online", true);
    b.seen["meter"]["voltage_l1"] = seen("meter", "voltage_l1", 230.5, "V");
    b.seen["vessel-211"]["sog"] = seen("vessel-211", "sog", 3.5, "kn");  // a device no port claims by config
    b.online["gps1"] = true;
    Json c = b.catalog();
    const Json& gps = device(c, "gps1");
    REQUIRE(gps["metrics"].size() == 1);
    CHECK(gps["metrics"][0]["name"] == "latitude");
    CHECK(gps["metrics"][0]["type"] == "double");
    CHECK(gps["metrics"][0]["unit"] == "deg");
    CHECK(gps["online"] == true);
    CHECK(device(c, "meter")["metrics"].size() == 3);  // seen and configured: listed once
    const Json& vessel = device(c, "vessel-211");
    CHECK(vessel["port"].is_null());
    CHECK(metric(vessel, "sog")["unit"] == "kn");
}

TEST_CASE("catalog: text from devices is escaped into valid JSON", "[catalog]") {
    Built b = station();
    b.seen["gps1"]["xdr.\"T\\1\x1b"] = seen("gps1", "xdr.\"T\\1\x1b", 1.0, "\x01");
    Json c = b.catalog();  // parses
    CHECK(device(c, "gps1")["metrics"][0]["name"] == "xdr.\"T\\1\x1b");
}

TEST_CASE("catalog: signed batches are announced as SignedBatch", "[catalog]") {
    Built b = station();
    CHECK(b.catalog()["topics"]["data_payload"] == "loopgate.v1.Batch");
    b.config.signing.key_file = "/etc/loopgate/gw.key";  // loading the config would read the key
    CHECK(b.catalog()["topics"]["data_payload"] == "loopgate.v1.SignedBatch");
}

TEST_CASE("catalog config: labels and descriptions are checked where they are written", "[catalog]") {
    auto error_of = [](const std::string& replace_from, const std::string& with) {
        std::string yaml = kStation;
        yaml.replace(yaml.find(replace_from), replace_from.size(), with);
        try {
            parse_config(ConfigNode::load_string(yaml, "t.yaml"));
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(error_of("labels: {site: north, area: pumps}", "labels: [north]"),
               Catch::Contains("t.yaml:4:") && Catch::Contains("gateway.labels: expected a map of label names"));
    CHECK_THAT(error_of("labels: {site: north, area: pumps}", "labels: {site: {a: 1}}"),
               Catch::Contains("gateway.labels.site: expected a text value"));
    CHECK_THAT(error_of("labels: {site: north, area: pumps}", "labels: {\"a=b\": c}"),
               Catch::Contains("contains '='"));
    CHECK_THAT(error_of("labels: {cell: \"4\"}", "labels: {cell: [4]}"),
               Catch::Contains("ports[0].devices[0].labels.cell: expected a text value"));
    CHECK_THAT(error_of("descriptions: {voltage_l1:", "descriptions: {\"a/b\":"),
               Catch::Contains("ports[0].devices[0].descriptions.a/b"));
    CHECK(error_of("labels: {area: roof}", "labels: {area: roof, floor: \"2\"}") == "no error");
}

TEST_CASE("catalog pacer: soon after a change, at most once per interval", "[catalog]") {
    using T = CatalogPacer::Time;
    const T t0{};
    CatalogPacer p(5s);
    CHECK_FALSE(p.due(t0));  // nothing changed
    p.changed();
    CHECK(p.due(t0) == t0);  // the first goes out at once
    p.published(t0);
    CHECK_FALSE(p.due(t0 + 1s));
    p.changed();
    CHECK(p.due(t0 + 1s) == t0 + 5s);  // churn waits for the interval
    p.changed();
    CHECK(p.due(t0 + 2s) == t0 + 5s);  // and folds into one publish
    p.published(t0 + 5s);
    CHECK_FALSE(p.pending());
    p.changed();
    CHECK(p.due(t0 + 11s) == t0 + 11s);  // after a quiet interval: at once again
}

TEST_CASE("catalog pacer: a large catalog takes at most its share of the uplink", "[catalog]") {
    using T = CatalogPacer::Time;
    const T t0{};
    struct Row {
        std::size_t bytes;
        std::chrono::milliseconds interval;
    };
    for (const Row& row : std::vector<Row>{{0, 5s}, {4'000, 5s}, {10'240, 5s}, {20'480, 10s}, {512'000, 250s}}) {
        CAPTURE(row.bytes);
        CatalogPacer p(5s, 2048);
        p.published(t0, row.bytes);
        CHECK(p.interval() == row.interval);
        p.changed();
        CHECK(p.due(t0 + 1s) == t0 + row.interval);
    }
    CatalogPacer p(5s, 2048);
    p.published(t0, 512'000);
    p.published(t0 + 250s, 0);  // found unchanged: nothing sent, the short interval again
    p.changed();
    CHECK(p.due(t0 + 256s) == t0 + 256s);
}

namespace {

std::string sample_catalog() {
    Built b = station();
    b.seen["gps1"]["latitude"] = seen("gps1", "latitude", 52.1, "deg");
    CatalogSources s;
    s.config = &b.config;
    s.version = "1";
    for (std::size_t i = 0; i < b.config.ports.size(); ++i)
        s.ports.push_back({&b.config.ports[i], b.drivers[i]->device_names(), {}});
    s.seen = &b.seen;
    return catalog_json(s);
}

std::vector<std::string> names(const CatalogMatches& r) {
    std::vector<std::string> out;
    for (const CatalogMatch& m : r.matches) out.push_back(m.device + "/" + m.metric);
    return out;
}

}  // namespace

TEST_CASE("find: every word matches gateway, device, metric, unit, description or a label", "[catalog][find]") {
    const std::string c = sample_catalog();
    struct Row {
        std::vector<std::string> words;
        std::vector<std::pair<std::string, std::string>> labels;
        std::vector<std::string> expect;
    };
    const std::vector<Row> rows = {
        {{"temperature"}, {}, {"ws1/air_temperature"}},
        {{"TEMPERATURE"}, {}, {"ws1/air_temperature"}},                        // case-insensitive
        {{"degc"}, {}, {"meter/setpoint", "ws1/air_temperature"}},              // by unit
        {{"incomer"}, {}, {"meter/voltage_l1"}},                                // by description
        {{"voltage", "pump"}, {}, {"meter/voltage_l1"}},                        // gateway id
        {{"north", "lat"}, {}, {"gps1/latitude"}},                              // a gateway label's value
        {{"roof"}, {}, {"ws1/air_temperature", "ws1/N"}},                       // a device label
        {{"voltage", "nothing-like-it"}, {}, {}},                               // every word, not any
        {{}, {{"site", "north"}, {"cell", "4"}}, {"meter/voltage_l1", "meter/setpoint", "meter/flow"}},
        {{"degC"}, {{"area", "roof"}}, {"ws1/air_temperature"}},                // the device's label wins
        {{"degC"}, {{"area", "pumps"}}, {"meter/setpoint"}},                    // over the gateway's
        {{}, {{"site", "North"}}, {}},                                          // labels exactly
        {{}, {{"site", "nort"}}, {}},
    };
    for (const Row& row : rows) {
        CAPTURE(row.words, row.labels);
        CatalogMatches r = match_catalog(c, {row.words, row.labels});
        REQUIRE(r.ok);
        CHECK(names(r) == row.expect);
    }
    CatalogMatches r = match_catalog(c, {{"flow"}, {}});
    REQUIRE(r.matches.size() == 1);
    CHECK(r.matches[0].gateway == "pump-7");
    CHECK(r.matches[0].unit == "m3/h");
    CHECK(r.matches[0].topic == "plant/pump-7/data");
    CHECK(r.matches[0].payload_type == "loopgate.v1.Batch");
    CHECK(Json::parse(match_json(r.matches[0]))["labels"]["cell"] == "4");
}

TEST_CASE("find: what is not a catalog is refused with a reason, never thrown", "[catalog][find]") {
    const std::vector<std::pair<std::string, std::string>> rows = {
        {"", "not a JSON object"},
        {"{", "not a JSON object"},
        {"[1,2]", "not a JSON object"},
        {"{\"schema\":2,\"devices\":[]}", "not a catalog of schema 1"},
        {"{\"schema\":\"1\"}", "not a catalog of schema 1"},
        {"\xff\xfe", "not a JSON object"},
    };
    for (const auto& [payload, why] : rows) {
        CAPTURE(payload);
        CatalogMatches r = match_catalog(payload, {});
        CHECK_FALSE(r.ok);
        CHECK(r.error == why);
    }
    // Odd shapes inside a schema-1 catalog are skipped, not fatal.
    CatalogMatches r = match_catalog(
        R"({"schema":1,"gateway":7,"devices":[1,{"name":2,"metrics":{}},{"name":"d","metrics":[null,{"name":"m","unit":3}]}]})", {});
    CHECK(r.ok);
    CHECK(names(r) == std::vector<std::string>{"d/m"});
    // A word escaped in the JSON text still matches its value.
    r = match_catalog(R"({"schema":1,"devices":[{"name":"Z\u00fcrich","metrics":[{"name":"t"}]}]})", {{"ZÜRICH"}, {}});
    CHECK(r.matches.size() == 0);  // ASCII letters fold, others match as written
    r = match_catalog(R"({"schema":1,"devices":[{"name":"Z\u00fcrich","metrics":[{"name":"t"}]}]})", {{"zürich"}, {}});
    CHECK(r.matches.size() == 1);
}

TEST_CASE("find: --label takes KEY=VALUE", "[catalog][find]") {
    std::pair<std::string, std::string> l;
    CHECK(parse_label_query("site=north", l));
    CHECK(l == std::make_pair(std::string("site"), std::string("north")));
    CHECK(parse_label_query("k=a=b", l));
    CHECK(l.second == "a=b");
    CHECK(parse_label_query("k=", l));
    CHECK_FALSE(parse_label_query("=v", l));
    CHECK_FALSE(parse_label_query("site", l));
}
