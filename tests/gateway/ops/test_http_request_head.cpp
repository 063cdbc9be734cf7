// The status page's request head, parsed from the bytes received so far (gateway/ops/http_request_head.hpp):
// what the server answers depends on these verdicts, so each row is one request as a client sends it.

#include <catch2/catch.hpp>

#include <string>

#include "gateway/ops/http_request_head.hpp"

using namespace loopgate;

TEST_CASE("a request head is complete, incomplete, malformed or too large") {
    struct Row {
        const char* name;
        std::string bytes;
        RequestHeadStatus status;
    };
    const Row rows[] = {
        {"a GET", "GET / HTTP/1.1\r\nHost: gw\r\n\r\n", RequestHeadStatus::complete},
        {"nothing yet", "", RequestHeadStatus::incomplete},
        {"a head without its blank line", "GET / HTTP/1.1\r\nHost: gw\r\n", RequestHeadStatus::incomplete},
        {"half a request line", "GET /api/sta", RequestHeadStatus::incomplete},
        {"not HTTP", "HELLO\r\n\r\n", RequestHeadStatus::malformed},
        {"a body announced", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello", RequestHeadStatus::malformed},
        {"an empty body announced", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n", RequestHeadStatus::complete},
        {"a head over 8 KiB", "GET / HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n", RequestHeadStatus::too_large},
        {"8 KiB without an end", "GET / HTTP/1.1\r\nX-Pad: " + std::string(8200, 'a'), RequestHeadStatus::too_large},
    };
    for (const Row& row : rows) {
        INFO(row.name);
        CHECK(parse_request_head(row.bytes).status == row.status);
    }
}

TEST_CASE("a complete head yields what the server routes on") {
    std::string first = "GET /metrics?name=x HTTP/1.1\r\nHost: gw\r\nAuthorization: Basic dGVjaDpwdw==\r\n\r\n";
    auto parsed = parse_request_head(first + "GET / HTTP/1.1\r\n");  // a pipelined request follows
    REQUIRE(parsed.status == RequestHeadStatus::complete);
    CHECK(parsed.head.get);
    CHECK(parsed.head.target == "/metrics?name=x");
    CHECK(parsed.head.path == "/metrics");
    CHECK(parsed.head.authorization == "Basic dGVjaDpwdw==");
    CHECK(parsed.head.keep_alive);
    CHECK(parsed.head.bytes == first.size());

    struct Row {
        std::string bytes;
        bool get;
        bool keep_alive;
    };
    const Row rows[] = {
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", true, false},
        {"GET / HTTP/1.0\r\n\r\n", true, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, true},
        {"HEAD / HTTP/1.1\r\nHost: gw\r\n\r\n", false, true},
    };
    for (const Row& row : rows) {
        INFO(row.bytes);
        auto p = parse_request_head(row.bytes);
        REQUIRE(p.status == RequestHeadStatus::complete);
        CHECK(p.head.get == row.get);
        CHECK(p.head.keep_alive == row.keep_alive);
        CHECK(p.head.authorization.empty());
    }
}
