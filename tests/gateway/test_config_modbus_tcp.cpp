// A modbus-tcp port's path in the whole config: tcp://host[:port] with port 502 by default (read by
// core/network_endpoint), so one server cannot be named twice; a serial or rfc2217:// path is refused
// at the path with its line and column.
#include <catch2/catch.hpp>

#include "gateway/config.hpp"
#include "tests/gateway/config_error.hpp"

using namespace loopgate;
using loopgate::testing::config_error;

namespace {

std::string config(const std::string& ports) {
    return "gateway: {id: gw1}\nuplink: {broker: \"tcp://localhost:1883\"}\nstore: {path: /tmp/x.db}\nports:\n" + ports;
}

std::string port(const std::string& name, const std::string& path) {
    return "  - name: " + name + "\n    path: \"" + path + "\"\n    driver: modbus-tcp\n"
           "    devices: [{name: " + name + "-d, unit: 1, points: [{name: p, ref: 30001}]}]\n";
}

}  // namespace

TEST_CASE("config: a modbus-tcp port's path takes port 502 unless it names one", "[config][modbus]") {
    Config c = parse_config(ConfigNode::load_string(config(port("plc", "tcp://10.0.4.20") + port("gw", "tcp://10.0.4.30:1502")), "gw.yaml"));
    REQUIRE(c.ports.size() == 2);
    REQUIRE(c.ports[0].endpoint);
    CHECK(c.ports[0].endpoint->host == "10.0.4.20");
    CHECK(c.ports[0].endpoint->port == 502);
    CHECK(c.ports[1].endpoint->port == 1502);
    CHECK_THAT(config_error(config(port("a", "tcp://plc") + port("b", "tcp://plc:502"))),
               Catch::Contains("gw.yaml:10:11: ports[1].path") && Catch::Contains("path 'tcp://plc:502' is used by two ports"));
    CHECK_THAT(config_error(config(port("a", "/dev/ttyUSB0"))),
               Catch::Contains("gw.yaml:6:") && Catch::Contains("ports[0].path: the modbus-tcp driver talks to a Modbus TCP server"));
    CHECK_THAT(config_error(config(port("a", "rfc2217://nport:4001"))), Catch::Contains("use driver: modbus-rtu"));
    Config v6 = parse_config(ConfigNode::load_string(config(port("plc", "tcp://[fd00::20]")), "gw.yaml"));
    CHECK(v6.ports[0].endpoint->port == 502);
}
