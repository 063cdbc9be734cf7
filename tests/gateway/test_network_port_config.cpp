// A port on a serial device server: `path: tcp://host:port` or `rfc2217://host:port`, its `network`
// settings, and the located errors check-config gives for the URL forms.

#include <catch2/catch.hpp>

#include "gateway/config.hpp"
#include "tests/gateway/config_error.hpp"

using namespace loopgate;
using loopgate::testing::config_error;

namespace {

std::string config_with(const std::string& port_lines) {
    return "gateway:\n  id: gw1\nuplink:\n  broker: tcp://localhost:1883\nstore:\n  path: /tmp/x.db\nports:\n"
           "  - name: bus\n" +
           port_lines +
           "    driver: line\n"
           "    settings:\n"
           "      fields: [{field: T}]\n"
           "    devices: [{name: ws1}]\n";
}

}  // namespace

TEST_CASE("a tcp:// port has an endpoint and the network defaults", "[config][network_port]") {
    Config c = parse_config(ConfigNode::load_string(config_with("    path: tcp://10.0.0.5:4001\n"), "gw.yaml"));
    REQUIRE(c.ports.size() == 1);
    const PortConfig& p = c.ports[0];
    REQUIRE(p.endpoint);
    CHECK(p.endpoint->scheme == "tcp");
    CHECK(p.endpoint->host == "10.0.0.5");
    CHECK(p.endpoint->port == 4001);
    CHECK(p.network.connect_timeout_ms == 5000);
    CHECK(p.network.reconnect_after_silence_ms == 60'000);
}

TEST_CASE("a port's network settings are read, 0 turning silence reconnects off", "[config][network_port]") {
    Config c = parse_config(ConfigNode::load_string(
        config_with("    path: tcp://nport:4001\n    network: {connect_timeout: 2s, reconnect_after_silence: 0}\n"),
        "gw.yaml"));
    CHECK(c.ports[0].network.connect_timeout_ms == 2000);
    CHECK(c.ports[0].network.reconnect_after_silence_ms == 0);
}

TEST_CASE("a device path has no endpoint", "[config][network_port]") {
    Config c = parse_config(ConfigNode::load_string(config_with("    path: /dev/ttyUSB0\n"), "gw.yaml"));
    CHECK_FALSE(c.ports[0].endpoint);
}

TEST_CASE("network port errors name file, line, column and field", "[config][network_port]") {
    struct Case {
        const char* name;
        std::string lines;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"unknown scheme", "    path: udp://10.0.0.5:4001\n",
         "gw.yaml:9:11: ports[0].path: unknown scheme 'udp'; a network port is tcp://host:port or "
         "rfc2217://host:port, anything else a device path"},
        {"no port", "    path: tcp://nport\n", "gw.yaml:9:11: ports[0].path: 'tcp://nport' names no TCP port"},
        {"port out of range", "    path: tcp://nport:70000\n",
         "gw.yaml:9:11: ports[0].path: 'tcp://nport:70000': the port 70000 is not from 1 to 65535"},
        {"IPv6 without brackets", "    path: tcp://fe80::1:4001\n",
         "gw.yaml:9:11: ports[0].path: 'tcp://fe80::1:4001': an IPv6 address goes in brackets"},
        {"network settings on a device", "    path: /dev/ttyUSB0\n    network: {connect_timeout: 2s}\n",
         "gw.yaml:10:14: ports[0].network: network settings apply to tcp:// and rfc2217:// paths, not to the "
         "device '/dev/ttyUSB0'"},
        {"unknown network key", "    path: tcp://nport:4001\n    network: {conect_timeout: 2s}\n",
         "gw.yaml:10:15: ports[0].network.conect_timeout: unknown key 'conect_timeout' (did you mean "
         "'connect_timeout'?)"},
        {"connect timeout too short", "    path: tcp://nport:4001\n    network: {connect_timeout: 10ms}\n",
         "gw.yaml:10:32: ports[0].network.connect_timeout: expected a duration from 100ms to 5min"},
        {"silence limit too short", "    path: tcp://nport:4001\n    network: {reconnect_after_silence: 500ms}\n",
         "gw.yaml:10:40: ports[0].network.reconnect_after_silence: expected 0 (never) or a duration from 1s to 24h"},
        {"RS-485 direction over the network", "    path: tcp://nport:4001\n    rs485: {mode: rts}\n",
         "gw.yaml:10:12: ports[0].rs485: a network port's RS-485 direction is switched by the device server"},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        CHECK_THAT(config_error(config_with(c.lines)), Catch::Matchers::Contains(c.expected));
    }
}

TEST_CASE("two ports may not share one device server port", "[config][network_port]") {
    std::string yaml = config_with("    path: tcp://nport:4001\n") +
                       "  - name: bus2\n    path: tcp://nport:4001\n    driver: line\n"
                       "    settings: {fields: [{field: T}]}\n    devices: [{name: ws2}]\n";
    CHECK_THAT(config_error(yaml), Catch::Matchers::Contains("ports[1].path: path 'tcp://nport:4001' is used by two ports"));
}

TEST_CASE("the device server examples pass", "[config][network_port]") {
    for (const char* f : {"/deploy/examples/nport-rtu-over-tcp.yaml", "/deploy/examples/rfc2217-weather-station.yaml"}) {
        INFO(f);
        Config c = load_config(std::string(LOOPGATE_SOURCE_DIR) + f);
        REQUIRE(c.ports.size() == 1);
        CHECK(c.ports[0].endpoint);
    }
}
