// The modbus-tcp driver with fake time: the same master as modbus-rtu over MBAP framing. Transaction
// ids pair answers with requests (a late answer never shifts the pairing: libmodbus #255), several
// requests in flight, answers split and coalesced by TCP, and the driver's config errors.
#include <catch2/catch.hpp>

#include "core/network_endpoint.hpp"
#include "drivers/modbus_tcp/mbap_frame.hpp"
#include "drivers/modbus_tcp/modbus_tcp_driver.hpp"
#include "drivers/registry.hpp"
#include "tests/drivers/modbus_rtu/modbus_bench.hpp"

using namespace loopgate;
using namespace loopgate::modbus_test;
namespace tcp = loopgate::modbus::tcp;

namespace {

// The ADUs in what the driver wrote at once (several when several requests go in flight).
std::vector<std::vector<std::uint8_t>> adus(const std::vector<std::uint8_t>& written) {
    std::vector<std::vector<std::uint8_t>> out;
    std::size_t at = 0;
    while (at < written.size()) {
        auto size = tcp::adu_size(std::span(written).subspan(at));
        REQUIRE(size.status == tcp::AduSize::known);
        out.emplace_back(written.begin() + static_cast<std::ptrdiff_t>(at),
                         written.begin() + static_cast<std::ptrdiff_t>(at + size.length));
        at += size.length;
    }
    return out;
}

std::uint16_t transaction_of(const std::vector<std::uint8_t>& adu) {
    return static_cast<std::uint16_t>(adu.at(0) << 8 | adu.at(1));
}

// A server answering for several units, as a TCP-to-RTU gateway does: the answer carries the
// request's transaction id and unit.
struct FakeServer {
    std::map<std::uint8_t, FakeSlave> units;

    std::vector<std::uint8_t> answer(const std::vector<std::uint8_t>& adu) {
        tcp::Header h;
        std::string error;
        auto q = tcp::parse_request(adu, h, error);
        INFO(error);
        REQUIRE(q);
        auto pdu = units[q->unit].answer_pdu(*q);
        std::size_t length = 1 + pdu.size();
        std::vector<std::uint8_t> r{adu[0], adu[1], 0, 0, static_cast<std::uint8_t>(length >> 8),
                                    static_cast<std::uint8_t>(length), q->unit};
        r.insert(r.end(), pdu.begin(), pdu.end());
        return r;
    }
};

const char* kPlant = R"(
settings: {response_timeout: 300ms, retries: 1, offline_after: 2}
devices:
  - name: meter
    unit: 1
    poll_interval: 1s
    points:
      - {name: power, table: input, address: 0, type: uint16}
  - name: pump
    unit: 255
    poll_interval: 1s
    points:
      - {name: speed, table: holding, address: 10, type: uint16, writable: true}
)";

Bench tcp_bench(const std::string& yaml) { return Bench(yaml, 9600, make_modbus_tcp_driver); }

FakeServer plant() {
    FakeServer s;
    s.units[1].input[0] = 1500;
    s.units[255].holding[10] = 42;
    return s;
}

}  // namespace

TEST_CASE("modbus-tcp polls each unit over one connection, at once and without silences", "[modbus][tcp][driver]") {
    Bench b = tcp_bench(kPlant);
    FakeServer server = plant();
    b.open();
    REQUIRE(b.sent.size() == 1);  // no t3.5 on TCP: the first request leaves as the line opens
    auto q1 = b.sent.back();
    CHECK(q1 == hex("00 01 00 00 00 06 01 04 00 00 00 01"));
    b.feed(server.answer(q1));
    REQUIRE(b.sent.size() == 2);  // and the next as soon as the answer is in (max_in_flight 1)
    auto q2 = b.sent.back();
    CHECK(q2 == hex("00 02 00 00 00 06 FF 03 00 0A 00 01"));
    b.feed(server.answer(q2));
    CHECK(find(b.readings, "power")->value == Value{std::int64_t{1500}});
    CHECK(find(b.readings, "speed")->value == Value{std::int64_t{42}});
    CHECK(find(b.readings, "online")->value == Value{true});
    CHECK(b.counter("responses_ok") == 2);
    CHECK(b.counter("stale_responses") == 0);
    CHECK(b.driver->counters().count("poll_load_permille") == 0);  // a serial line's figure
}

TEST_CASE("modbus-tcp: a late answer after a timeout never shifts the pairing (libmodbus #255)", "[modbus][tcp][driver]") {
    Bench b = tcp_bench(kPlant);
    FakeServer server = plant();
    b.open();
    auto first = b.sent.back();
    auto late = server.answer(first);  // 1500, held back by a slow gateway
    server.units[1].input[0] = 1600;
    auto retry = b.next_request(1s);
    CHECK(b.counter("timeouts") == 1);
    CHECK(transaction_of(retry) != transaction_of(first));  // a try of its own
    CHECK(std::vector(retry.begin() + 2, retry.end()) == std::vector(first.begin() + 2, first.end()));
    SECTION("the late answer comes while the retry is on the wire") {
        b.feed(late);
        CHECK(b.counter("stale_responses") == 1);
        CHECK_FALSE(find(b.readings, "power"));  // not taken for the retry's answer
        b.feed(server.answer(retry));
        REQUIRE(find(b.readings, "power"));
        CHECK(find(b.readings, "power")->value == Value{std::int64_t{1600}});
    }
    SECTION("the late answer comes after the retry's answer, while the next request waits") {
        b.feed(server.answer(retry));
        auto next = b.sent.back();
        CHECK(next[6] == 0xFF);  // the pump's poll
        b.feed(late);
        CHECK(b.counter("stale_responses") == 1);
        b.feed(server.answer(next));
        // One power reading, 1600, and the pump's speed: nothing shifted.
        CHECK(std::count_if(b.readings.begin(), b.readings.end(), [](const Reading& r) { return r.metric == "power"; }) == 1);
        CHECK(find(b.readings, "power")->value == Value{std::int64_t{1600}});
        CHECK(find(b.readings, "speed")->value == Value{std::int64_t{42}});
    }
}

TEST_CASE("modbus-tcp: max_in_flight requests on the wire, answered in any order", "[modbus][tcp][driver]") {
    std::string yaml = std::string(kPlant).replace(std::string(kPlant).find("offline_after: 2"), 16,
                                                    "offline_after: 2, max_in_flight: 4");
    Bench b = tcp_bench(yaml);
    FakeServer server = plant();
    b.open();
    REQUIRE(b.sent.size() == 1);
    auto requests = adus(b.sent.back());
    REQUIRE(requests.size() == 2);  // both devices at once
    CHECK(transaction_of(requests[0]) != transaction_of(requests[1]));
    SECTION("answers reversed, coalesced into one read") {
        auto both = server.answer(requests[1]);
        auto a0 = server.answer(requests[0]);
        both.insert(both.end(), a0.begin(), a0.end());
        b.feed(both);
    }
    SECTION("answers split at every byte, across the two frames") {
        auto both = server.answer(requests[1]);
        auto a0 = server.answer(requests[0]);
        both.insert(both.end(), a0.begin(), a0.end());
        for (std::uint8_t byte : both) {
            b.feed({byte});
            b.advance(10ms);
        }
    }
    CHECK(b.counter("responses_ok") == 2);
    CHECK(b.counter("malformed_responses") == 0);
    CHECK(find(b.readings, "power")->value == Value{std::int64_t{1500}});
    CHECK(find(b.readings, "speed")->value == Value{std::int64_t{42}});
}

TEST_CASE("modbus-tcp: garbage, wrong units, exceptions and silence", "[modbus][tcp][driver]") {
    Bench b = tcp_bench(kPlant);
    FakeServer server = plant();
    b.open();
    auto q = b.sent.back();
    SECTION("a server that sends garbage: skipped up to the next header, the answer still taken") {
        auto stream = hex("DE AD BE EF 00 01 02 03 04");
        auto a = server.answer(q);
        stream.insert(stream.end(), a.begin(), a.end());
        b.feed(stream);
        CHECK(b.counter("malformed_responses") == 1);
        CHECK(b.counter("noise_bytes") == 9);
        CHECK(b.counter("responses_ok") == 1);
    }
    SECTION("the right transaction from the wrong unit fails the try at once") {
        auto a = server.answer(q);
        a[6] = 7;
        b.feed(a);
        CHECK(b.counter("wrong_unit") == 1);
        CHECK(b.counter("retries") == 1);  // sent again without waiting for the timeout
    }
    SECTION("an exception: bad quality, the device is there") {
        b.feed(hex("00 01 00 00 00 03 01 84 02"));
        CHECK(b.counter("exceptions") == 1);
        REQUIRE(find(b.readings, "power"));
        CHECK(find(b.readings, "power")->quality == Quality::bad);
        CHECK(find(b.readings, "power")->quality_reason == "ILLEGAL_DATA_ADDRESS");
        CHECK(find(b.readings, "online")->value == Value{true});
    }
    SECTION("a unit that never answers goes offline after offline_after polls") {
        b.run_until(b.now + 5s);
        REQUIRE(find(b.readings, "online"));
        CHECK(find(b.readings, "online")->value == Value{false});
        CHECK(b.counter("devices_offline") == 2);
    }
}

TEST_CASE("modbus-tcp: a write and its completion, a connection lost with requests in flight", "[modbus][tcp][driver]") {
    Bench b = tcp_bench(kPlant);
    FakeServer server = plant();
    b.open();
    b.feed(server.answer(b.sent.back()));
    b.feed(server.answer(b.sent.back()));
    SECTION("written, echoed, completed ok, then polled again") {
        auto w = b.write_frame("pump", "speed", Value{std::int64_t{77}});
        CHECK(std::vector(w.begin() + 2, w.end()) == hex("00 00 00 06 FF 06 00 0A 00 4D"));
        b.feed(server.answer(w));
        REQUIRE(b.completions.size() == 1);
        CHECK(b.completions[0].outcome == WriteOutcome::ok);
        CHECK(b.completions[0].echoed == Value{std::int64_t{77}});
        CHECK(server.units[255].holding[10] == 77);
    }
    SECTION("the connection closes with the write in flight: line_closed; the poll goes again after the reopen") {
        b.write_frame("pump", "speed", Value{std::int64_t{77}});
        b.close();
        REQUIRE(b.completions.size() == 1);
        CHECK(b.completions[0].outcome == WriteOutcome::line_closed);
        b.open();
        CHECK(b.sent.size() > 3);
    }
}

TEST_CASE("modbus-tcp config: the driver's keys, with file, line and column", "[modbus][tcp][driver]") {
    auto error = [](const std::string& yaml) -> std::string {
        try {
            Bench b = tcp_bench(yaml);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "(no error)";
    };
    const std::string device = "devices:\n  - {name: m, unit: 1, points: [{name: p, ref: 30001}]}\n";
    CHECK(error("settings: {max_in_flight: 4}\n" + device) == "(no error)");
    CHECK_THAT(error("settings: {max_in_flight: 0}\n" + device),
               Catch::Contains("port.yaml:1:") && Catch::Contains("settings.max_in_flight: expected an integer from 1 to 16"));
    CHECK_THAT(error("settings: {max_inflight: 2}\n" + device), Catch::Contains("did you mean 'max_in_flight'"));
    CHECK_THAT(error("settings: {frame_gap: 20ms}\n" + device), Catch::Contains("unknown key 'frame_gap'"));
    CHECK_THAT(error("settings: {mode: monitor}\n" + device), Catch::Contains("unknown key 'mode'"));
    CHECK_THAT(error("settings: {retries: 1}\n"), Catch::Contains("list at least one device"));
    CHECK(error("devices:\n  - {name: m, unit: 0, points: [{name: p, ref: 30001}]}\n") == "(no error)");
    CHECK(error("devices:\n  - {name: m, unit: 255, points: [{name: p, ref: 30001}]}\n") == "(no error)");
    CHECK_THAT(error("devices:\n  - {name: m, unit: 256, points: [{name: p, ref: 30001}]}\n"),
               Catch::Contains("port.yaml:2:") && Catch::Contains("expected an integer from 0 to 255"));
    CHECK_THAT(error("devices:\n  - {name: all, broadcast: true, points: [{name: p, ref: 40001, writable: true}]}\n"),
               Catch::Contains("port.yaml:2:") && Catch::Contains("Modbus TCP has no broadcast"));

    ConfigNode root = ConfigNode::load_string("driver: modbus-tcp\n" + device, "x.yaml");
    DriverSpec spec{PortInfo{}, root["settings"], root["devices"]};
    CHECK(make_driver(root["driver"], spec) != nullptr);
}

TEST_CASE("modbus-tcp example config builds its drivers", "[modbus][tcp][driver]") {
    ConfigNode root = ConfigNode::load_file(LOOPGATE_SOURCE_DIR "/deploy/examples/modbus-tcp.yaml");
    auto ports = root["ports"].items();
    REQUIRE(ports.size() == 2);
    for (const ConfigNode& port : ports) {
        CHECK(port.str("driver") == "modbus-tcp");
        auto endpoint = parse_network_path(port.str("path"), tcp::kDefaultPort).endpoint;
        REQUIRE(endpoint);
        CHECK(endpoint->scheme == "tcp");
        CHECK(endpoint->port == 502);
        DriverSpec spec{PortInfo{port.str("name")}, port["settings"], port["devices"]};
        CHECK(make_driver(port["driver"], spec) != nullptr);
    }
}
