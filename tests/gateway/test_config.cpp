// The config file: every error names file, line, column and field, and says what was expected.

#include <catch2/catch.hpp>

#include <fstream>

#include "drivers/driver.hpp"
#include "gateway/config.hpp"
#include "tests/gateway/config_error.hpp"

using namespace loopgate;
using loopgate::testing::config_error;

namespace {

const std::string valid = R"(gateway:
  id: gw1
uplink:
  broker: tcp://localhost:1883
store:
  path: /tmp/x.db
ports:
  - name: met
    path: /dev/ttyUSB0
    baud: 9600
    driver: line
    settings:
      fields: [{field: T}]
    devices: [{name: ws1}]
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
    auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("a valid config parses with sensible defaults", "[config]") {
    Config c = parse_config(ConfigNode::load_string(valid, "gw.yaml"));
    CHECK(c.gateway_id == "gw1");
    CHECK(c.uplink.client_id == "loopgate-gw1");
    CHECK(c.uplink.qos == 1);
    CHECK(c.uplink.mqtt_version == 4);
    CHECK(c.uplink.batch.max_delay_ms == 100);
    CHECK(c.data_topic() == "loopgate/gw1/data");
    CHECK(c.status_topic() == "loopgate/gw1/status");
    REQUIRE(c.ports.size() == 1);
    CHECK(c.ports[0].parity == "none");
    CHECK(c.ports[0].stop_bits == 1);
    CHECK(c.http.login_addresses == 1024);
}

TEST_CASE("config errors are located and say what was expected", "[config]") {
    struct Case {
        const char* name;
        std::string yaml;
        std::string expected;
    };
    std::vector<Case> cases = {
        {"typo in a key", replace(valid, "    baud: 9600", "    buad: 9600"),
         "gw.yaml:10:5: ports[0].buad: unknown key 'buad' (did you mean 'baud'?)"},
        {"missing section", replace(valid, "store:\n  path: /tmp/x.db\n", ""), "gw.yaml:1:1: store: required field is missing"},
        {"bad baud", replace(valid, "baud: 9600", "baud: 9601"), "gw.yaml:10:11: ports[0].baud: unsupported baud rate 9601"},
        {"bad parity", replace(valid, "    baud: 9600", "    parity: space"),
         "ports[0].parity: expected one of none, even, odd, got 'space'"},
        {"unknown driver", replace(valid, "driver: line", "driver: lime"), "gw.yaml:11:13: ports[0].driver: unknown driver 'lime'"},
        {"driver settings error carries the path", replace(valid, "fields: [{field: T}]", "fields: [{field: T, scale: x}]"),
         "ports[0].settings.fields[0].scale: expected a number, got 'x'"},
        {"bad broker", replace(valid, "tcp://localhost:1883", "localhost"), "uplink.broker: expected a broker URI"},
        {"gateway id with wildcard", replace(valid, "id: gw1", "id: gw+1"), "gateway.id: name 'gw+1' must not contain '+'"},
        // Paho refuses names and client ids that are not UTF-8 only when `run` makes the client.
        {"gateway id not UTF-8", replace(valid, "id: gw1", "id: gw\xff" "1"),
         "gateway.id: name 'gw\\xff1' is not valid UTF-8 (byte 3; MQTT topics must be UTF-8)"},
        {"gateway id cut UTF-8", replace(valid, "id: gw1", "id: gw\xc3"),
         "gateway.id: name 'gw\\xc3' is not valid UTF-8 (byte 3; MQTT topics must be UTF-8)"},
        {"gateway id with a C1 control", replace(valid, "id: gw1", "id: gw\xc2\x9b" "1"),
         "gateway.id: name 'gw\\xc2\\x9b1' must not contain control characters or NUL"},
        {"port name not UTF-8", replace(valid, "name: met", "name: m\xe9t"), "ports[0].name: name 'm\\xe9t' is not valid UTF-8"},
        {"client id not UTF-8", replace(valid, "  broker: tcp://localhost:1883", "  broker: tcp://localhost:1883\n  client_id: lg\xff"),
         "uplink.client_id: 'lg\\xff' is not a UTF-8 string without NUL (MQTT client ids must be)"},
        {"bad duration", replace(valid, "  broker: tcp://localhost:1883", "  broker: tcp://localhost:1883\n  batch: {max_delay: 5 weeks}"),
         "uplink.batch.max_delay: unknown duration unit 'weeks'"},
        {"qos 0 refused", replace(valid, "  broker: tcp://localhost:1883", "  broker: tcp://localhost:1883\n  qos: 0"),
         "uplink.qos: expected an integer from 1 to 1, got 0"},
        {"yaml syntax", "gateway: [", "gw.yaml:1:"},
        {"broker and brokers both set", replace(valid, "  broker: tcp://localhost:1883", "  broker: tcp://localhost:1883\n  brokers: [tcp://b:1883]"),
         "gw.yaml:5:12: uplink.brokers: set either broker (one URI) or brokers (a list of URIs, the first preferred), not both"},
        {"unknown scheme in a list", replace(valid, "  broker: tcp://localhost:1883", "  brokers:\n    - tcp://a:1883\n    - ws://b:9001"),
         "gw.yaml:6:7: uplink.brokers[1]: unknown scheme 'ws' in 'ws://b:9001'; expected tcp://, mqtt://, ssl:// or mqtts://"},
        {"unparsable URI in a list", replace(valid, "  broker: tcp://localhost:1883", "  brokers: [tcp://a:1883, \"tcp://b:18x3\"]"),
         "gw.yaml:4:27: uplink.brokers[1]: 'tcp://b:18x3': the port must be a number from 1 to 65535"},
        {"a broker listed twice", replace(valid, "  broker: tcp://localhost:1883", "  brokers: [tcp://a:1883, mqtt://a]"),
         "uplink.brokers[1]: 'mqtt://a' is listed twice"},
        {"an empty broker list", replace(valid, "  broker: tcp://localhost:1883", "  brokers: []"),
         "uplink.brokers: expected at least one broker URI"},
        {"bad failback_after", replace(valid, "  broker: tcp://localhost:1883", "  broker: tcp://localhost:1883\n  failback_after: soon"),
         "uplink.failback_after:"},
        {"a login throttle of fewer than 16 addresses",
         replace(valid, "  id: gw1", "  id: gw1\n  http: {login_addresses: 8}"),
         "gw.yaml:3:27: gateway.http.login_addresses: expected an integer from 16 to 65536, got 8"},
        {"tls on plain tcp", replace(valid, "  broker: tcp://localhost:1883", "  broker: tcp://localhost:1883\n  tls: {ca_file: /x}"),
         "uplink.tls: tls settings need an ssl:// or mqtts:// broker URI"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) { CHECK_THAT(config_error(c.yaml), Catch::Contains(c.expected)); }
    }
}

TEST_CASE("a broker list keeps its order, and broker is its one-element form", "[config]") {
    Config one = parse_config(ConfigNode::load_string(valid, "gw.yaml"));
    CHECK(one.uplink.brokers == std::vector<std::string>{"tcp://localhost:1883"});
    CHECK(one.uplink.broker == "tcp://localhost:1883");
    CHECK(one.uplink.failback_after_ms == 300'000);
    CHECK_FALSE(one.uplink.tls.enabled);
    Config list = parse_config(ConfigNode::load_string(
        replace(valid, "  broker: tcp://localhost:1883",
                "  brokers: [ssl://a.example:8883, mqtts://b.example]\n  failback_after: 0\n  tls: {ca_file: /ca.pem}"),
        "gw.yaml"));
    CHECK(list.uplink.brokers == std::vector<std::string>{"ssl://a.example:8883", "mqtts://b.example"});
    CHECK(list.uplink.broker == "ssl://a.example:8883");
    CHECK(list.uplink.failback_after_ms == 0);
    CHECK(list.uplink.tls.enabled);
}

TEST_CASE("two ports may not share a name or a device path", "[config]") {
    std::string port = valid.substr(valid.find("  - name: met"));
    CHECK_THAT(config_error(valid + port), Catch::Contains("port name 'met' is used twice"));
    CHECK_THAT(config_error(valid + replace(port, "name: met", "name: met2")),
               Catch::Contains("path '/dev/ttyUSB0' is used by two ports"));
}

TEST_CASE("a missing config file is reported with its name", "[config]") {
    CHECK_THROWS_WITH(load_config("/nonexistent/loopgate.yaml"), "/nonexistent/loopgate.yaml: cannot open config file");
}

TEST_CASE("the shipped example configs pass", "[config]") {
    for (const char* f : {"/deploy/loopgate.yaml", "/deploy/demo.yaml"}) {
        INFO(f);
        CHECK_NOTHROW(load_config(std::string(LOOPGATE_SOURCE_DIR) + f));
    }
}

TEST_CASE("integers are decimal or 0x hexadecimal, never octal", "[config]") {
    ConfigNode root = ConfigNode::load_string("a: 010\nb: 0x1F\nc: 12abc\n", "n.yaml");
    CHECK(root["a"].as_int(0, 100) == 10);
    CHECK(root["b"].as_int(0, 100) == 31);
    CHECK_THROWS_WITH(root["c"].as_int(0, 100), Catch::Contains("n.yaml:3:4: c: expected an integer from 0 to 100, got '12abc'"));
}

TEST_CASE("a key given twice in one map is refused, at any depth, naming both lines", "[config]") {
    // yaml-cpp would keep the first silently: the later, stricter setting would be ignored.
    CHECK(config_error("gateway: {id: gw1}\ncommands:\n  require_signature: false\n  enabled: true\n"
                   "  require_signature: true\n") ==
          "gw.yaml:5:3: commands.require_signature: duplicate key 'require_signature' (first at line 3)");
    // A second ports: list would silently drop its sensors.
    CHECK_THAT(config_error(valid + "ports:\n  - name: met2\n"),
               Catch::Contains("gw.yaml:15:1: ports: duplicate key 'ports' (first at line 7)"));
    // Deep inside a driver's settings, in a list item, in flow style.
    CHECK_THAT(config_error(replace(valid, "fields: [{field: T}]", "fields: [{field: T, field: U}]")),
               Catch::Contains("gw.yaml:13:27: ports[0].settings.fields[0].field: duplicate key 'field' (first at line 13)"));
    // Keys equal as text are the same key, however they are quoted.
    CHECK_THAT(config_error(replace(valid, "  id: gw1", "  id: gw1\n  \"id\": gw2")),
               Catch::Contains("gateway.id: duplicate key 'id' (first at line 2)"));
}

TEST_CASE("a config file holds exactly one YAML document", "[config]") {
    CHECK_THAT(config_error(valid + "---\ncommands: {enabled: true}\n"),
               Catch::Contains("gw.yaml:15:1: a second YAML document ('---'); a config file holds exactly one"));
    CHECK_THAT(config_error("---\n" + valid + "...\n---\n"), Catch::Contains("a second YAML document"));
    // One document with an explicit start marker is fine.
    CHECK_NOTHROW(parse_config(ConfigNode::load_string("---\n" + valid, "gw.yaml")));
}

TEST_CASE("aliases cannot blow a small file up into a huge tree", "[config]") {
    std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 9; ++i)
        yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + std::string("*a") + std::to_string(i - 1) +
                ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) +
                ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) +
                ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
    CHECK_THROWS_WITH(ConfigNode::load_string(yaml, "bomb.yaml"), Catch::Contains("nodes once aliases are expanded"));
}

TEST_CASE("malformed YAML on which yaml-cpp's LoadAll never ends is refused at once", "[config]") {
    // yaml-cpp 0.7 hands out empty documents forever for this input (found by fuzz_config).
    CHECK_THAT(config_error(",b"), Catch::Contains("gw.yaml:1:1"));
}

TEST_CASE("every error in a file is reported at once, each located", "[config]") {
    std::string yaml = replace(replace(replace(valid, "  id: gw1", "  id: gw1\n  idd: x"), "    baud: 9600", "    parity: evn"),
                               "fields: [{field: T}]", "fields: [{field: T, type: flaot}, {field: H, type: int}]");
    try {
        parse_config(ConfigNode::load_string(yaml, "gw.yaml"));
        FAIL("the config was accepted");
    } catch (const ConfigError& e) {
        REQUIRE(e.messages().size() == 3);
        CHECK_THAT(e.messages()[0], Catch::StartsWith("gw.yaml:3:3: gateway.idd: unknown key 'idd' (did you mean 'id'?)"));
        CHECK(e.messages()[1] == "gw.yaml:11:13: ports[0].parity: expected one of none, even, odd, got 'evn' (did you mean 'even'?)");
        CHECK_THAT(e.messages()[2], Catch::StartsWith("gw.yaml:14:33: ports[0].settings.fields[0].type: expected one of double, int, "
                                                      "bool, string, got 'flaot'"));
        CHECK(std::string(e.what()) == e.messages()[0] + "\n" + e.messages()[1] + "\n" + e.messages()[2]);
    }
}

TEST_CASE("a mistyped enum value gets a suggestion only when one is likely", "[config]") {
    CHECK(did_you_mean("flaot32", {"int16", "float32", "float64"}) == " (did you mean 'float32'?)");
    CHECK(did_you_mean("EVEN", {"none", "even", "odd"}) == " (did you mean 'even'?)");
    CHECK(did_you_mean("drop_odlest", {"drop_oldest", "stop_reading"}) == " (did you mean 'drop_oldest'?)");
    CHECK(did_you_mean("3", {"1", "1.5", "2"}).empty());
    CHECK(did_you_mean("banana", {"none", "even", "odd"}).empty());
    CHECK_THAT(config_error(replace(valid, "    baud: 9600", "    stop_bits: 3")),
               Catch::EndsWith("ports[0].stop_bits: expected one of 1, 1.5, 2, got '3'"));
}

TEST_CASE("a port's max_metrics defaults to 1000, reaches its driver, and is at least 1", "[config]") {
    CHECK(parse_config(ConfigNode::load_string(valid, "gw.yaml")).ports.at(0).max_metrics == 1000);
    Config c = parse_config(ConfigNode::load_string(replace(valid, "    baud: 9600\n", "    baud: 9600\n    max_metrics: 50\n"), "gw.yaml"));
    CHECK(c.ports.at(0).max_metrics == 50);
    CHECK(driver_spec(c.ports.at(0)).port.max_metrics == 50);
    std::string error = config_error(replace(valid, "    baud: 9600\n", "    baud: 9600\n    max_metrics: 0\n"));
    CHECK(error.find("gw.yaml:11:") != std::string::npos);
    CHECK(error.find("max_metrics") != std::string::npos);
}
