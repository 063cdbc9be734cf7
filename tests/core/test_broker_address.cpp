// Broker URIs as the config names them (core/broker_address.hpp): what Paho is given, and what is
// refused with a reason.
#include <catch2/catch.hpp>

#include "core/broker_address.hpp"

using namespace loopgate;

TEST_CASE("broker addresses: accepted spellings and what Paho is given", "[config][broker]") {
    struct Row {
        const char* text;
        const char* uri;
        bool tls;
    };
    const Row rows[] = {
        {"tcp://broker:1883", "tcp://broker:1883", false},
        {"mqtt://broker", "tcp://broker:1883", false},
        {"ssl://broker.example.com:8884", "ssl://broker.example.com:8884", true},
        {"mqtts://broker", "ssl://broker:8883", true},
        {"tcp://127.0.0.1:1883/", "tcp://127.0.0.1:1883", false},
        {"tcp://[::1]:1884", "tcp://[::1]:1884", false},
        {"ssl://[fd00::2]", "ssl://[fd00::2]:8883", true},
        {"tcp://edge_hub-2.local:65535", "tcp://edge_hub-2.local:65535", false},
    };
    for (const Row& row : rows) {
        INFO(row.text);
        std::string problem;
        auto a = parse_broker_address(row.text, problem);
        REQUIRE(a);
        CHECK(a->uri() == row.uri);
        CHECK(a->tls == row.tls);
        CHECK(problem.empty());
    }
}

TEST_CASE("broker addresses: refused, with the reason", "[config][broker]") {
    struct Row {
        const char* text;
        const char* problem;
    };
    const Row rows[] = {
        {"localhost", "expected a broker URI such as tcp://host:1883"},
        {"ws://broker:9001", "unknown scheme 'ws'"},
        {"TCP://broker", "unknown scheme 'TCP'"},
        {"tcp://", "names no host"},
        {"tcp://:1883", "names no host"},
        {"tcp://broker:", "the port must be a number from 1 to 65535"},
        {"tcp://broker:0", "the port must be a number from 1 to 65535"},
        {"tcp://broker:65536", "the port must be a number from 1 to 65535"},
        {"tcp://broker:18x3", "the port must be a number from 1 to 65535"},
        {"tcp://broker:1883:1", "the port must be a number"},
        {"tcp://user:secret@broker", "broker credentials go in uplink.credentials_file"},
        {"tcp://broker:1883/mqtt", "has a path or query"},
        {"tcp://bro ker", "is not a host name or address"},
        {"tcp://[::1", "needs its closing ']'"},
        {"tcp://[fe80::1%eth0]:1883", "is not an IPv6 address"},
        {"tcp://[::1]x", "expected ':port' after the IPv6 address"},
    };
    for (const Row& row : rows) {
        INFO(row.text);
        std::string problem;
        CHECK_FALSE(parse_broker_address(row.text, problem));
        CHECK_THAT(problem, Catch::Contains(row.problem));
    }
}
