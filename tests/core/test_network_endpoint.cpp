// A port's path as a network URL: tcp://host:port and rfc2217://host:port, and what is not one.

#include <catch2/catch.hpp>

#include "core/network_endpoint.hpp"

using namespace loopgate;

TEST_CASE("device paths are not URLs and parse to nothing", "[network_endpoint]") {
    for (const char* path : {"/dev/ttyUSB0", "/dev/serial/by-id/usb-FTDI-if00-port0", "relative/tty", "COM3"}) {
        EndpointParse p = parse_network_path(path);
        CHECK_FALSE(is_network_path(path));
        CHECK_FALSE(p.endpoint);
        CHECK(p.error.empty());
    }
}

TEST_CASE("tcp and rfc2217 URLs give scheme, host and port", "[network_endpoint]") {
    struct Case {
        const char* path;
        const char* scheme;
        const char* host;
        std::uint16_t port;
        const char* host_port;
    };
    const Case cases[] = {
        {"tcp://10.0.0.5:4001", "tcp", "10.0.0.5", 4001, "10.0.0.5:4001"},
        {"tcp://nport-3.pumps.local:4002/", "tcp", "nport-3.pumps.local", 4002, "nport-3.pumps.local:4002"},
        {"rfc2217://127.0.0.1:2217", "rfc2217", "127.0.0.1", 2217, "127.0.0.1:2217"},
        {"rfc2217://[fe80::1]:7000", "rfc2217", "fe80::1", 7000, "[fe80::1]:7000"},
        {"tcp://[::1]:1", "tcp", "::1", 1, "[::1]:1"},
        {"tcp://h:65535", "tcp", "h", 65535, "h:65535"},
    };
    for (const Case& c : cases) {
        INFO(c.path);
        EndpointParse p = parse_network_path(c.path);
        REQUIRE(p.error.empty());
        REQUIRE(p.endpoint);
        CHECK(p.endpoint->scheme == c.scheme);
        CHECK(p.endpoint->host == c.host);
        CHECK(p.endpoint->port == c.port);
        CHECK(p.endpoint->host_port() == c.host_port);
    }
}

TEST_CASE("a missing port takes the caller's default, or is an error without one", "[network_endpoint]") {
    EndpointParse with_default = parse_network_path("tcp://plc-7", 502);
    REQUIRE(with_default.endpoint);
    CHECK(with_default.endpoint->port == 502);
    EndpointParse v6 = parse_network_path("tcp://[::1]", 502);
    REQUIRE(v6.endpoint);
    CHECK(v6.endpoint->host_port() == "[::1]:502");
    EndpointParse without = parse_network_path("tcp://plc-7");
    CHECK_FALSE(without.endpoint);
    CHECK(without.error == "'tcp://plc-7' names no TCP port; a device server listens on one per serial port (NPort: "
                           "4001 for its first, ser2net: as configured), e.g. tcp://plc-7:4001");
}

TEST_CASE("malformed URLs say what is wrong", "[network_endpoint]") {
    struct Case {
        const char* path;
        const char* error;
    };
    const Case cases[] = {
        {"udp://10.0.0.5:4001", "unknown scheme 'udp'; a network port is tcp://host:port or rfc2217://host:port, "
                                "anything else a device path"},
        {"telnet://h:23", "unknown scheme 'telnet'"},
        {"tcp://:4001", "'tcp://:4001' names no host"},
        {"tcp://h:0", "the port 0 is not from 1 to 65535"},
        {"tcp://h:65536", "the port 65536 is not from 1 to 65535"},
        {"tcp://h:123456", "the port '123456' is not a number from 1 to 65535"},
        {"tcp://h:40a1", "the port '40a1' is not a number"},
        {"tcp://h:", "the port '' is not a number"},
        {"tcp://h:4001/dev/ttyS0", "has a path or query after host:port"},
        {"tcp://user@h:4001", "carries a user name"},
        {"tcp://fe80::1:4001", "an IPv6 address goes in brackets, as in tcp://[fe80::1]:4001"},
        {"tcp://[fe80::1:4001", "'[' opens an IPv6 address that no ']' closes"},
        {"tcp://[fe80::1]4001", "expected ':port' after the IPv6 address"},
        {"tcp://[nport]:4001", "'nport' is not an IPv6 address"},
        {"tcp://bad host:4001", "'bad host' is not a host name or address"},
    };
    for (const Case& c : cases) {
        INFO(c.path);
        EndpointParse p = parse_network_path(c.path);
        CHECK_FALSE(p.endpoint);
        CHECK_THAT(p.error, Catch::Matchers::Contains(c.error));
    }
}
