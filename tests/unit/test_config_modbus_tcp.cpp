// A modbus-tcp port's path in the whole config: tcp://host[:port] with port 502 by default, so one
// server cannot be named twice; anything else is refused at the path with its line and column.
#include <catch2/catch.hpp>

#include "gateway/config.hpp"

using namespace loopgate;

namespace {

std::string config(const std::string& ports) {
    return "gateway: {id: gw1}\nuplink: {broker: \"tcp://localhost:1883\"}\nstore: {path: /tmp/x.db}\nports:\n" + ports;
}

std::string port(const std::string& name, const std::string& path) {
    return "  - name: " + name + "\n    path: \"" + path + "\"\n    driver: modbus-tcp\n"
           "    devices: [{name: " + name + "-d, unit: 1, points: [{name: p, ref: 30001}]}]\n";
}

std::string error_of(const std::string& yaml) {
    try {
        parse_config(ConfigNode::load_string(yaml, "gw.yaml"));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("config: a modbus-tcp port's path takes port 502 unless it names one", "[config][modbus]") {
    Config c = parse_config(ConfigNode::load_string(config(port("plc", "tcp://10.0.4.20") + port("gw", "tcp://10.0.4.30:1502")), "gw.yaml"));
    REQUIRE(c.ports.size() == 2);
    CHECK(c.ports[0].path == "tcp://10.0.4.20:502");
    CHECK(c.ports[1].path == "tcp://10.0.4.30:1502");
    CHECK_THAT(error_of(config(port("a", "tcp://plc") + port("b", "tcp://plc:502"))),
               Catch::Contains("gw.yaml:10:11: ports[1].path") && Catch::Contains("path 'tcp://plc:502' is used by two ports"));
    CHECK_THAT(error_of(config(port("a", "/dev/ttyUSB0"))),
               Catch::Contains("gw.yaml:6:") && Catch::Contains("ports[0].path: expected tcp://host[:port]"));
}
