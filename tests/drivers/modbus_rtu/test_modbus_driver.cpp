// The modbus-rtu state machine with fake time: silences, timeouts, retries, offline/online, noise,
// writes, broadcasts, per-device intervals, and the passive monitor.
#include <catch2/catch.hpp>

#include "tests/drivers/hex_bytes.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"
#include "drivers/registry.hpp"
#include "tests/drivers/modbus_rtu/modbus_bench.hpp"

using namespace loopgate;
using namespace loopgate::modbus_test;

namespace {

const char* kMeter = R"(
settings: {response_timeout: 200ms, turnaround_delay: 100ms, retries: 1, max_gap: 10, offline_after: 2}
devices:
  - name: meter1
    unit: 1
    poll_interval: 1s
    points:
      - {name: voltage, table: input, address: 0, type: float32, unit: V}
      - {name: current, table: input, address: 6, type: float32, unit: A}
      - {name: setpoint, ref: 40010, type: int16, writable: true, min: 0, max: 1000}
      - {name: relay, ref: 00001, writable: true}
)";

void load_meter(FakeSlave& s) {
    s.input[0] = 0x4366;  // 230.0f = 0x43660000
    s.input[1] = 0x0000;
    s.input[6] = 0x40A0;  // 5.0f
    s.input[7] = 0x0000;
    s.holding[9] = 500;
    s.coils[0] = true;
}

// kMeter opened, its first poll cycle (three requests) answered by `slave`.
void start_meter(Bench& b, FakeSlave& slave) {
    load_meter(slave);
    b.open();
    for (int i = 0; i < 3; ++i) b.feed(slave.answer(b.next_request()));
}

}  // namespace

TEST_CASE("modbus master waits for t3.5, polls merged blocks and decodes", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    load_meter(slave);
    b.open();
    CHECK(b.sent.empty());  // the line gets its silence first
    REQUIRE(b.wake);
    CHECK(*b.wake - b.now == std::chrono::nanoseconds(3'645'834));  // t3.5: 3.5 x 10 bits at 9600 baud

    // Coils first, then holding, then input: one request per table, the input block merged 0..7.
    auto q1 = b.next_request();
    CHECK(q1 == mb::rtu::frame(mb::read_request(1, mb::Table::coil, 0, 1)));
    b.advance(20ms);
    b.feed(slave.answer(q1));
    auto q2 = b.next_request();
    CHECK(q2 == mb::rtu::frame(mb::read_request(1, mb::Table::holding, 9, 1)));
    b.feed(slave.answer(q2));
    auto q3 = b.next_request();
    CHECK(q3 == mb::rtu::frame(mb::read_request(1, mb::Table::input, 0, 8)));
    // The next request may not start before 3.5 characters of silence after the last response.
    SteadyTime answered = b.now;
    b.feed(slave.answer(q3));
    auto rs = b.drain();
    REQUIRE(find(rs, "online"));
    CHECK(find(rs, "online")->value == Value{true});
    REQUIRE(find(rs, "voltage"));
    CHECK(find(rs, "voltage")->value == Value{230.0});
    CHECK(find(rs, "voltage")->unit == "V");
    CHECK(find(rs, "voltage")->device == "meter1");
    CHECK(find(rs, "voltage")->receive_time_ns == b.wall);
    CHECK(find(rs, "current")->value == Value{5.0});
    CHECK(find(rs, "setpoint")->value == Value{std::int64_t{500}});
    CHECK(find(rs, "relay")->value == Value{true});
    CHECK(b.counter("responses_ok") == 3);
    CHECK(b.counter("requests_sent") == 3);

    // Next cycle one poll interval after the first.
    auto q4 = b.next_request();
    CHECK(q4 == q1);
    CHECK(b.now - answered > 900ms);
    CHECK(b.now - answered < 1001ms);
}

TEST_CASE("modbus master: timeouts, retries, offline and back online", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    load_meter(slave);
    b.open();
    auto q = b.next_request();
    SteadyTime sent_at = b.now;
    // Silence: the deadline is the request's time on the wire (8 chars) plus response_timeout.
    auto retry = b.next_request();
    CHECK(retry == q);
    CHECK(b.now - sent_at == std::chrono::nanoseconds(8 * 1'041'667) + 200ms);
    CHECK(b.counter("timeouts") == 1);
    CHECK(b.counter("retries") == 1);
    // Retry fails too: one failed poll. The next block is tried; it fails -> offline (offline_after 2).
    auto next = b.next_request();
    CHECK(next != q);
    CHECK(b.readings.empty());
    b.next_request();  // retry of the second block
    b.advance(250ms);
    auto rs = b.drain();
    CHECK(b.counter("timeouts") == 4);
    REQUIRE(find(rs, "online"));
    CHECK(find(rs, "online")->value == Value{false});
    const Reading* v = find(rs, "voltage");
    REQUIRE(v);
    CHECK(v->quality == Quality::bad);
    CHECK(v->quality_reason == "device offline");
    CHECK(v->value == Value{0.0});  // never read: the type's zero, quality says it all
    CHECK(b.counter("devices_offline") == 1);
    // Offline: one probe per cycle, no retries, the rest of the cycle skipped.
    b.next_request(2s);
    std::size_t before = b.sent.size();
    b.advance(700ms);
    CHECK(b.sent.size() == before);

    // The device comes back: one answer brings it online.
    auto probe = b.next_request(2s);
    b.feed(slave.answer(probe));
    rs = b.drain();
    REQUIRE(find(rs, "online"));
    CHECK(find(rs, "online")->value == Value{true});
    CHECK(b.counter("devices_online") == 1);
    CHECK(b.counter("devices_offline") == 0);
    auto q2 = b.next_request();
    b.feed(slave.answer(q2));
    auto q3 = b.next_request();
    b.feed(slave.answer(q3));
    rs = b.drain();
    REQUIRE(find(rs, "voltage"));
    CHECK(find(rs, "voltage")->quality == Quality::good);
    CHECK(find(rs, "voltage")->value == Value{230.0});
}

TEST_CASE("modbus master: bad CRC, garbage, truncated frames and wrong units", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    load_meter(slave);
    b.open();

    // Frames end by length and CRC, never by a silence: what was damaged is counted, and the master
    // waits for a valid answer (the damage may be garbage in front of it) until response_timeout.
    SECTION("bad CRC: counted, then a retry at the response timeout") {
        auto q = b.next_request();
        SteadyTime deadline = b.now + 200ms;  // plus the request's time on the wire
        b.advance(15ms);
        auto reply = slave.answer(q);
        reply.back() ^= 0xFF;
        b.feed(reply);
        CHECK(b.counter("crc_errors") == 1);
        auto retry = b.next_request();
        CHECK(retry == q);
        CHECK(b.now > deadline);
        CHECK(b.now < deadline + 20ms);
        CHECK(b.counter("noise_bytes") == reply.size());
        CHECK(b.counter("timeouts") == 0);
        CHECK(b.counter("truncated_frames") == 0);
        b.feed(slave.answer(retry));
        CHECK(find(b.readings, "relay"));
    }
    SECTION("garbage: counted once, no crash, retry at the response timeout") {
        auto q = b.next_request();
        SteadyTime deadline = b.now + 200ms;
        b.advance(15ms);
        b.feed(hex("FF FF 00 13 37"));
        CHECK(b.counter("malformed_responses") == 1);
        b.advance(1ms);
        b.feed(hex("AA"));
        auto retry = b.next_request();
        CHECK(retry == q);
        CHECK(b.now > deadline);
        CHECK(b.counter("malformed_responses") == 1);
        CHECK(b.counter("noise_bytes") == 6);
    }
    SECTION("garbage in front of the answer: the answer is taken") {
        auto q = b.next_request();
        b.advance(15ms);
        auto stream = hex("FF FF 00 13 37");
        auto reply = slave.answer(q);
        stream.insert(stream.end(), reply.begin(), reply.end());
        b.feed(stream);
        CHECK(b.counter("responses_ok") == 1);
        CHECK(b.counter("retries") == 0);
        CHECK(b.counter("noise_bytes") == 5);
    }
    SECTION("truncated: the frame never completes before the response timeout") {
        auto q = b.next_request();
        auto reply = slave.answer(q);
        b.feed(std::vector<std::uint8_t>(reply.begin(), reply.begin() + 3));
        b.advance(4ms);
        CHECK(b.counter("truncated_frames") == 0);  // a silence alone ends nothing
        b.advance(250ms);
        CHECK(b.counter("truncated_frames") == 1);
        CHECK(b.counter("timeouts") == 0);
        CHECK(b.counter("noise_bytes") == 3);
        b.next_request();
        CHECK(b.counter("retries") == 1);
    }
    SECTION("a response split over many reads is one frame") {
        auto q = b.next_request();
        for (std::uint8_t byte : slave.answer(q)) {
            b.feed({byte});
            b.advance(1ms);  // a byte each character time: no silence
        }
        CHECK(b.counter("responses_ok") == 1);
        CHECK(b.counter("truncated_frames") == 0);
    }
    SECTION("a reply from the wrong unit is skipped and ours still accepted") {
        auto q = b.next_request();
        FakeSlave other;
        other.unit = 2;
        auto wrong = q;
        wrong[0] = 2;
        mb::append_crc(wrong);
        wrong.resize(q.size());
        wrong = with_crc(std::vector<std::uint8_t>(q.begin(), q.end() - 2));
        wrong[0] = 2;
        wrong = with_crc(std::vector<std::uint8_t>(wrong.begin(), wrong.end() - 2));
        auto reply2 = other.answer(wrong);
        b.feed(reply2);
        CHECK(b.counter("wrong_unit") == 1);
        b.feed(slave.answer(q));
        CHECK(b.counter("responses_ok") == 1);
        CHECK(b.counter("retries") == 0);
    }
    SECTION("bytes after a complete frame are noise and delay the next request") {
        auto q = b.next_request();
        auto reply = slave.answer(q);
        reply.push_back(0x00);
        b.feed(reply);
        CHECK(b.counter("responses_ok") == 1);
        CHECK(b.counter("noise_bytes") == 1);
    }
    SECTION("unsolicited bytes while idle are noise") {
        auto q = b.next_request();
        b.feed(slave.answer(q));
        b.feed(hex("01 02 03"));
        CHECK(b.counter("noise_bytes") == 3);
    }
}

TEST_CASE("modbus master: exception responses give bad quality with the exception's name", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    load_meter(slave);
    b.open();
    auto q1 = b.next_request();
    b.feed(slave.answer(q1));
    auto q2 = b.next_request();
    b.feed(slave.answer(q2));
    auto q3 = b.next_request();
    b.feed(with_crc({0x01, 0x84, 0x02}));
    auto rs = b.drain();
    CHECK(b.counter("exceptions") == 1);
    CHECK(b.counter("retries") == 0);
    for (const char* m : {"voltage", "current"}) {
        const Reading* r = find(rs, m);
        REQUIRE(r);
        CHECK(r->quality == Quality::bad);
        CHECK(r->quality_reason == "ILLEGAL_DATA_ADDRESS");
    }
    CHECK(find(rs, "online")->value == Value{true});  // it answered: it is there
    // The next good answer brings the value back with good quality, and the bad one kept the last good value.
    auto again = b.next_request(2s);
    b.feed(slave.answer(again));
    b.feed(slave.answer(b.next_request()));
    b.feed(with_crc({0x01, 0x84, 0x02}));
    b.feed(slave.answer(b.next_request(2s)));
    b.feed(slave.answer(b.next_request()));
    auto q = b.next_request();
    b.feed(slave.answer(q));
    rs = b.drain();
    REQUIRE(find(rs, "voltage"));
    CHECK(find(rs, "voltage")->quality == Quality::good);
}

TEST_CASE("modbus master: writes go ahead of polls and are counted", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    start_meter(b, slave);
    b.drain();

    // An idle, quiet line: the write leaves in the call itself, not at the next poll (1 s away).
    b.advance(20ms);
    std::size_t before = b.sent.size();
    REQUIRE(b.write("meter1", "setpoint", Value{std::int64_t{750}}).accepted);
    REQUIRE(b.sent.size() == before + 1);
    auto w = b.sent.back();
    CHECK(w == mb::rtu::frame(mb::write_request(1, mb::Table::holding, 9, {750})));
    CHECK(b.completions.empty());  // nothing is known before the device answers
    b.wall += 7;
    b.feed(slave.answer(w));
    CHECK(b.counter("write_ok") == 1);
    CHECK(slave.holding[9] == 750);
    REQUIRE(b.completions.size() == 1);
    CHECK(b.completions[0].id == b.write_ids);
    CHECK(b.completions[0].outcome == WriteOutcome::ok);
    CHECK(b.completions[0].echoed == Value{std::int64_t{750}});  // FC 06 echoes the value
    CHECK(b.completions[0].device_time_ns == b.wall);
    // Read back soon after the write.
    auto rb = b.next_request(100ms);
    CHECK(rb[1] == mb::fc::read_coils);

    // Asked while a poll is on the wire: waits for it, then goes ahead of the polls due.
    CHECK(b.write("meter1", "relay", Value{false}).accepted);
    b.feed(slave.answer(rb));
    auto wc = b.next_request();
    CHECK(wc == mb::rtu::frame(mb::write_request(1, mb::Table::coil, 0, {0})));
    b.feed(with_crc({0x01, 0x85, 0x02}));
    CHECK(b.counter("write_failed") == 1);
    REQUIRE(b.completions.size() == 2);
    CHECK(b.completions[1].outcome == WriteOutcome::device_exception);
    CHECK(b.completions[1].exception_code == 2);
    CHECK(b.completions[1].error == "ILLEGAL_DATA_ADDRESS");
    CHECK(b.completions[1].device_time_ns == b.wall);

    auto refused = b.write("meter1", "voltage", Value{1.0});
    CHECK_FALSE(refused.accepted);
    CHECK(refused.error == "point 'voltage' of device 'meter1' is not writable (writable: true in the point map)");
    auto range = b.write("meter1", "setpoint", Value{std::int64_t{1001}});
    CHECK_FALSE(range.accepted);
    CHECK(range.error == "point 'setpoint' accepts 0..1000, got 1001");
    CHECK_FALSE(b.write("meter9", "setpoint", Value{1.0}).accepted);
    CHECK(b.write("meter1", "nope", Value{1.0}).error == "device 'meter1' has no point 'nope'");
    CHECK(b.counter("write_refused") == 1);
    CHECK(b.completions.size() == 2);  // a refusal is answered at once, never completed later
}

TEST_CASE("modbus master: a write the device never answers times out after the retries", "[modbus][driver]") {
    Bench b(kMeter);  // response_timeout 200ms, retries 1
    FakeSlave slave;
    start_meter(b, slave);
    auto w = b.write_frame("meter1", "setpoint", Value{std::int64_t{5}});
    SteadyTime first = b.now;
    CHECK(b.next_request(1s) == w);  // the one retry, after the response timeout
    CHECK(b.now - first >= 200ms);
    b.advance(1s);
    REQUIRE(b.completions.size() == 1);
    CHECK(b.completions[0].outcome == WriteOutcome::timeout);
    CHECK(b.completions[0].error == "no valid answer after 2 tries");
    CHECK(b.completions[0].device_time_ns == 0);
    CHECK(b.counter("write_failed") == 1);
    CHECK(std::count(b.sent.begin(), b.sent.end(), w) == 2);
}

TEST_CASE("modbus master: verify reads the point back, and a different value fails the write", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    start_meter(b, slave);
    b.drain();

    auto w = b.write_frame("meter1", "setpoint", Value{std::int64_t{321}}, true);
    b.feed(slave.answer(w));
    CHECK(b.completions.empty());  // confirmed, but not yet read back
    auto rb = b.next_request(50ms);  // the read-back goes before any poll (1 s away)
    CHECK(rb == mb::rtu::frame(mb::read_request(1, mb::Table::holding, 9, 1)));
    b.feed(slave.answer(rb));
    REQUIRE(b.completions.size() == 1);
    CHECK(b.completions[0].outcome == WriteOutcome::ok);
    CHECK(b.completions[0].read_back == Value{std::int64_t{321}});
    // The read-back is a reading like a poll's: what confirms a Sparkplug DCMD downstream.
    REQUIRE(find(b.readings, "setpoint"));
    CHECK(find(b.readings, "setpoint")->value == Value{std::int64_t{321}});

    // A device that acknowledges a write and keeps its old value (a locked register).
    w = b.write_frame("meter1", "setpoint", Value{std::int64_t{500}}, true);
    b.feed(slave.answer(w));
    slave.holding[9] = 321;
    b.feed(slave.answer(b.next_request(50ms)));
    REQUIRE(b.completions.size() == 2);
    CHECK(b.completions[1].outcome == WriteOutcome::verify_mismatch);
    CHECK(b.completions[1].error == "read back 321, wrote 500");
    CHECK(b.completions[1].read_back == Value{std::int64_t{321}});
    CHECK(b.completions[1].echoed == Value{std::int64_t{500}});
    CHECK(b.counter("write_ok") == 1);
    CHECK(b.counter("write_failed") == 1);

    // One that echoes what it holds (pymodbus does): the echo is the answer, no read-back, no retry.
    w = b.write_frame("meter1", "setpoint", Value{std::int64_t{600}});
    std::size_t frames = b.sent.size();
    b.feed(with_crc({0x01, 0x06, 0x00, 0x09, 0x01, 0x41}));  // holding 9 = 321
    REQUIRE(b.completions.size() == 3);
    CHECK(b.completions[2].outcome == WriteOutcome::verify_mismatch);
    CHECK(b.completions[2].error == "the device answered holding 321, wrote 600");
    CHECK(b.completions[2].echoed == Value{std::int64_t{321}});
    CHECK(b.counter("malformed_responses") == 0);
    b.advance(100ms);
    CHECK(std::count(b.sent.begin() + static_cast<std::ptrdiff_t>(frames), b.sent.end(), w) == 0);
}

TEST_CASE("modbus master: a closed line completes every pending write, and the queue is bounded", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    load_meter(slave);
    CHECK(b.write("meter1", "setpoint", Value{std::int64_t{1}}).error == "port closed");  // never opened
    b.open();
    for (int i = 0; i < 3; ++i) b.feed(slave.answer(b.next_request()));
    b.advance(10ms);

    // One on the wire, 64 waiting: the 66th is refused as a full queue, and said so.
    int accepted = 0;
    WriteResult r;
    while ((r = b.write("meter1", "setpoint", Value{std::int64_t{accepted}})).accepted) ++accepted;
    CHECK(accepted == 65);
    CHECK(r.queue_full);
    CHECK_THAT(r.error, Catch::Contains("write queue of this port is full (64 writes)"));

    b.close();
    REQUIRE(b.completions.size() == 65);
    CHECK(std::all_of(b.completions.begin(), b.completions.end(),
                      [](const WriteCompletion& c) { return c.outcome == WriteOutcome::line_closed; }));
    CHECK(b.completions[0].error == "the line closed before the device answered");
    CHECK(b.completions[1].error == "the line closed before the write was sent");
    // Nothing is left to complete after the reopen: the line starts again with a poll.
    b.open();
    auto q = b.next_request();
    CHECK(q[1] != mb::fc::write_single_register);
    CHECK(b.completions.size() == 65);
}

TEST_CASE("modbus master: a write asked for just after a frame waits one frame gap, no more", "[modbus][driver]") {
    Bench b(kMeter);
    FakeSlave slave;
    start_meter(b, slave);
    b.advance(20ms);
    b.feed({0x00});  // a stray byte: the line was busy a moment ago
    SteadyTime asked = b.now;
    auto w = b.write_frame("meter1", "setpoint", Value{std::int64_t{9}});
    CHECK(w == mb::rtu::frame(mb::write_request(1, mb::Table::holding, 9, {9})));
    // t3.5 at 9600 baud, 8N1 (10 bits a character): 3.5 * 10 / 9600 s = 3.65 ms.
    CHECK(b.now - asked == std::chrono::nanoseconds(1'041'667 * 7 / 2));
}

TEST_CASE("modbus master: multi-register writes use FC 16, broadcasts wait the turnaround delay", "[modbus][driver]") {
    Bench b(R"(
settings: {turnaround_delay: 100ms}
devices:
  - name: drive
    unit: 5
    poll_interval: 10s
    points:
      - {name: speed, ref: 40001, type: float32, word_order: CDAB, writable: true}
  - name: all
    broadcast: true
    points:
      - {name: reset, ref: 40100, type: uint16, writable: true}
)");
    FakeSlave slave;
    slave.unit = 5;
    b.open();
    b.feed(slave.answer(b.next_request()));
    auto w = b.write_frame("drive", "speed", Value{1.5});
    // 1.5f = 3FC0 0000, CDAB: low word first.
    CHECK(w == mb::rtu::frame(mb::write_request(5, mb::Table::holding, 0, {0x0000, 0x3FC0})));
    b.feed(slave.answer(w));
    CHECK(b.counter("write_ok") == 1);

    b.drain();
    auto poll = b.next_request(100ms);  // read-back
    b.feed(slave.answer(poll));
    CHECK(find(b.readings, "speed")->value == Value{1.5});

    CHECK_FALSE(b.write("all", "reset", Value{std::int64_t{1}}, true).accepted);  // nobody could read it back
    auto bc = b.write_frame("all", "reset", Value{std::int64_t{1}});
    CHECK(bc == mb::rtu::frame(mb::write_request(0, mb::Table::holding, 99, {1})));
    SteadyTime sent = b.now;
    CHECK(b.write("drive", "speed", Value{2.0}).accepted);
    b.next_request(1s);
    CHECK(b.now - sent == std::chrono::nanoseconds(8 * 1'041'667) + 100ms);
    CHECK(b.counter("write_ok") == 2);
}

TEST_CASE("modbus master: each device keeps its own poll interval, one transaction at a time", "[modbus][driver]") {
    Bench b(R"(
settings: {retries: 0, response_timeout: 100ms}
devices:
  - {name: fast, unit: 1, poll_interval: 500ms, points: [{name: a, ref: 40001}]}
  - {name: slow, unit: 2, poll_interval: 2s, points: [{name: b, ref: 30001}, {name: c, ref: 30003}]}
  - {name: gone, unit: 3, poll_interval: 1s, points: [{name: d, ref: 40001}]}
)");
    FakeSlave s1, s2;
    s1.unit = 1;
    s2.unit = 2;
    s2.input[2] = 7;
    b.open();
    std::map<int, int> polls;
    SteadyTime end = b.now + 10s;
    std::size_t seen = 0;
    while (b.wake && *b.wake <= end) {
        b.run_until(*b.wake);
        while (seen < b.sent.size()) {
            auto q = b.sent[seen++];
            ++polls[q[0]];
            // Exactly one transaction on the wire: nothing new is sent before the answer or the timeout.
            b.advance(5ms);
            CHECK(b.sent.size() == seen);
            if (q[0] == 1) b.feed(s1.answer(q));
            if (q[0] == 2) b.feed(s2.answer(q));
        }
    }
    CHECK(polls[1] >= 19);
    CHECK(polls[1] <= 21);
    CHECK(polls[2] >= 5);
    CHECK(polls[2] <= 6);
    CHECK(polls[3] >= 9);
    CHECK(polls[3] <= 11);
    CHECK(find(b.readings, "c")->value == Value{std::int64_t{7}});
    CHECK(b.counter("devices_online") == 2);
    CHECK(b.counter("devices_offline") == 1);
    // Mostly waiting 108 ms a second on the absent unit: about an eighth of the bus.
    CHECK(b.counter("bus_busy_permille") > 80);
    CHECK(b.counter("bus_busy_permille") < 200);
    CHECK(b.counter("poll_load_permille") > 0);
}

TEST_CASE("modbus master: every answer is reported, deadband and report_on_change go to the report stage",
          "[modbus][driver]") {
    Bench b(R"(
devices:
  - name: m
    unit: 1
    poll_interval: 100ms
    points:
      - {name: t, ref: 40001, type: int16, scale: 0.1, deadband: 0.5}
      - {name: s, ref: 40002, report_on_change: true, max_silence: 1min}
      - {name: p, ref: 40003, deadband: "2%", min_interval: 5s}
      - {name: plain, ref: 40004}
)");
    auto policies = b.driver->report_policies();
    REQUIRE(policies.size() == 3);
    CHECK(policies[0].device == "m");
    CHECK(policies[0].metric == "t");
    REQUIRE(policies[0].policy.deadband);
    CHECK(policies[0].policy.deadband->amount == 0.5);
    CHECK_FALSE(policies[0].policy.deadband->percent);
    CHECK(policies[1].policy.on_change == true);
    CHECK(policies[1].policy.max_silence_ms == 60000);
    CHECK(policies[2].policy.deadband->percent);
    CHECK(policies[2].policy.deadband->amount == 2);
    CHECK(policies[2].policy.min_interval_ms == 5000);
    CHECK(b.driver->device_names() == std::vector<std::string>{"m"});

    FakeSlave s;
    s.holding[0] = 200;
    s.holding[1] = 1;
    b.open();
    for (int i = 0; i < 3; ++i) {
        b.feed(s.answer(b.next_request()));
        auto rs = b.drain();
        CHECK(find(rs, "t") != nullptr);  // unchanged values still leave the driver
        CHECK(find(rs, "s") != nullptr);
    }
}

TEST_CASE("modbus timing above 19200 baud uses the fixed 1.75 ms", "[modbus][driver]") {
    Bench b(kMeter, 38400);
    b.open();
    REQUIRE(b.wake);
    CHECK(*b.wake - b.now == 1750us);
}

TEST_CASE("modbus monitor: a capture decodes without config into raw registers", "[modbus][driver]") {
    ConfigNode none;
    DriverSpec spec{PortInfo{}, none, none};
    std::unique_ptr<Driver> d;
    REQUIRE_NOTHROW(d = make_modbus_driver(spec));
    // Another master reads holding 108-110 of slave 17, then coils 20-38 of unit 1 (spec examples),
    // with noise in between, then an exception, then a write.
    std::vector<std::uint8_t> capture;
    auto add = [&](const std::vector<std::uint8_t>& f) { capture.insert(capture.end(), f.begin(), f.end()); };
    add(hex("11 03 00 6B 00 03 76 87"));
    add(hex("11 03 06 02 2B 00 00 00 64 C8 BA"));
    add(hex("00 FF 13"));
    add(with_crc(hex("01 01 00 13 00 13")));
    add(hex("01 01 03 CD 6B 05 42 82"));
    add(hex("01 03 00 00 00 0A C5 CD"));
    add(hex("01 83 02 C0 F1"));
    add(hex("11 06 00 01 00 03 9A 9B"));
    add(hex("11 06 00 01 00 03 9A 9B"));
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, capture.size()}) {
        CAPTURE(chunk);
        d = make_modbus_driver(spec);
        DriverOutput out;
        for (std::size_t i = 0; i < capture.size(); i += chunk)
            d->on_bytes(std::span(capture).subspan(i, std::min(chunk, capture.size() - i)), DriverClock{}, out);
        std::map<std::string, Reading> by;
        for (const auto& r : out.readings) by[r.device + "/" + r.metric] = r;
        CHECK(by.at("unit-17/holding_107").value == Value{std::int64_t{555}});
        CHECK(by.at("unit-17/holding_108").value == Value{std::int64_t{0}});
        CHECK(by.at("unit-17/holding_109").value == Value{std::int64_t{100}});
        CHECK(by.at("unit-1/coil_19").value == Value{true});
        CHECK(by.at("unit-1/coil_20").value == Value{false});
        CHECK(by.at("unit-1/coil_37").value == Value{true});
        CHECK(by.count("unit-1/coil_38") == 0);
        CHECK(by.at("unit-1/holding_0").quality == Quality::bad);
        CHECK(by.at("unit-1/holding_0").quality_reason == "ILLEGAL_DATA_ADDRESS");
        CHECK(by.at("unit-17/holding_1").value == Value{std::int64_t{3}});
        auto c = d->counters();
        CHECK(c.at("monitor_requests") == 4);
        CHECK(c.at("monitor_responses") == 4);
        CHECK(c.at("noise_bytes") == 3);
        CHECK(c.at("unmatched_responses") == 0);
        DriverOutput o;
        CHECK_FALSE(d->write_point({1, "unit-1", "x", Value{1.0}, false}, {SteadyTime{}, 0}, o).accepted);
    }
}

TEST_CASE("modbus monitor: a configured monitor decodes through the point map", "[modbus][driver]") {
    Bench b(R"(
settings: {mode: monitor}
devices:
  - name: boiler
    unit: 17
    points:
      - {name: t, ref: 40108, type: int16, scale: 0.1, unit: degC}
      - {name: outside, ref: 40200}
)");
    b.open();
    b.feed(hex("11 03 00 6B 00 03 76 87"));
    b.advance(2ms);
    b.feed(hex("11 03 06 02 2B 00 00 00 64 C8 BA"));
    REQUIRE(b.readings.size() == 1);
    CHECK(b.readings[0].device == "boiler");
    CHECK(b.readings[0].metric == "t");
    CHECK(b.readings[0].value == Value{55.5});
    CHECK(b.sent.empty());
    // A frame cut short is not ended by a silence (a device server's gaps mean nothing): the frame
    // behind it shows it was garbage, and the next one still decodes.
    b.feed(hex("11 03 00 6B"));
    b.advance(10ms);
    CHECK(b.counter("noise_bytes") == 0);
    b.feed(hex("11 03 00 6B 00 03 76 87"));
    CHECK(b.counter("noise_bytes") == 4);
    b.feed(hex("11 03 06 02 2B 00 00 00 64 C8 BA"));
    CHECK(b.readings.size() == 2);
    // One that nothing completes is given up after response_timeout (default 500 ms) of quiet.
    b.feed(hex("11 03 00"));
    b.advance(400ms);
    CHECK(b.counter("noise_bytes") == 4);
    b.advance(200ms);
    CHECK(b.counter("noise_bytes") == 7);
}

TEST_CASE("modbus master driver fed a capture without on_open decodes it passively", "[modbus][driver]") {
    Bench b(kMeter);
    b.feed(with_crc(hex("01 04 00 00 00 02")));
    b.feed(with_crc(hex("01 04 04 43 66 00 00")));
    REQUIRE(b.readings.size() == 1);
    CHECK(b.readings[0].metric == "voltage");
    CHECK(b.readings[0].value == Value{230.0});
}

TEST_CASE("modbus driver settings are validated", "[modbus][driver]") {
    auto error = [](const std::string& yaml) -> std::string {
        try {
            Bench b(yaml);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "(no error)";
    };
    CHECK_THAT(error("settings: {mode: slave}\ndevices: []\n"), Catch::Contains("expected one of master, monitor, got 'slave'"));
    CHECK_THAT(error("settings: {retries: 11}\n"), Catch::Contains("settings.retries: expected an integer from 0 to 10"));
    CHECK_THAT(error("settings: {respons_timeout: 1s}\n"), Catch::Contains("did you mean 'response_timeout'"));
    CHECK_THAT(error("settings: {response_timeout: 0ms}\n"), Catch::Contains("response_timeout must be between"));
    CHECK_THAT(error("settings: {mode: master}\n"), Catch::Contains("list at least one device"));
    CHECK(error("settings: {mode: monitor}\n") == "(no error)");
    CHECK(error("settings: {frame_gap: auto, mode: monitor}\n") == "(no error)");

    ConfigNode root = ConfigNode::load_string("driver: modbus-rtu\n", "x.yaml");
    DriverSpec spec{PortInfo{}, root["settings"], root["devices"]};
    CHECK(make_driver(root["driver"], spec) != nullptr);
}

TEST_CASE("modbus example config builds a driver", "[modbus][driver]") {
    ConfigNode root = ConfigNode::load_file(LOOPGATE_SOURCE_DIR "/deploy/examples/energy-meter.yaml");
    auto ports = root["ports"].items();
    REQUIRE(ports.size() == 1);
    CHECK(ports[0].str("driver") == "modbus-rtu");
    DriverSpec spec{PortInfo{"rs485-1", 9600, 8, false, 1}, ports[0]["settings"], ports[0]["devices"]};
    auto d = make_driver(ports[0]["driver"], spec);
    REQUIRE(d);
    // Seventeen float32 points in four requests at 1 s: a few percent of a 9600-baud line.
    CHECK(d->counters().at("poll_load_permille") > 10);
    CHECK(d->counters().at("poll_load_permille") < 200);
}

// ---- RTU through a device server (ser2net, an NPort): bytes come coalesced and split, with gaps
// that say nothing about frames. Frames end by their function code's length and CRC only.

namespace {

// Opens kMeter's line and answers its requests until the one for the voltage and current block
// (input registers 0..7, a 21-byte answer) is on the wire; returns it.
std::vector<std::uint8_t> up_to_voltage_request(Bench& b, FakeSlave& slave) {
    load_meter(slave);
    b.open();
    for (int i = 0; i < 3; ++i) {
        auto q = b.next_request();
        if (q[1] == mb::fc::read_input_registers) return q;
        b.feed(slave.answer(q));
    }
    FAIL("kMeter never asked for its input registers");
    return {};
}

// A counter's growth over a block of the test.
struct Since {
    const Bench& b;
    std::map<std::string, std::uint64_t> at;
    explicit Since(const Bench& bench) : b(bench) {
        for (const auto& [name, value] : b.driver->counters()) at[name] = value;
    }
    std::uint64_t operator()(const std::string& name) const { return b.driver->counters().at(name) - at.at(name); }
};

std::vector<std::uint8_t> cat(std::vector<std::uint8_t> a, const std::vector<std::uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_CASE("modbus master over a device server: an answer split at any byte, after any gap, is one frame",
          "[modbus][driver][stream]") {
    for (auto gap : {1ms, 50ms, 190ms}) {
        for (std::size_t cut = 1; cut < 21; ++cut) {
            CAPTURE(gap.count(), cut);
            Bench b(kMeter);
            FakeSlave slave;
            auto reply = slave.answer(up_to_voltage_request(b, slave));
            REQUIRE(reply.size() == 21);  // voltage and current: 8 input registers
            Since grew(b);
            b.feed(std::vector<std::uint8_t>(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(cut)));
            b.advance(gap);
            b.feed(std::vector<std::uint8_t>(reply.begin() + static_cast<std::ptrdiff_t>(cut), reply.end()));
            CHECK(grew("responses_ok") == 1);
            CHECK(grew("truncated_frames") == 0);
            CHECK(grew("noise_bytes") == 0);
            CHECK(grew("retries") == 0);
            REQUIRE(find(b.readings, "voltage"));
            CHECK(find(b.readings, "voltage")->value == Value{230.0});
        }
    }
}

TEST_CASE("modbus master over a device server: garbage, stale frames and answers in one read", "[modbus][driver][stream]") {
    struct Case {
        const char* what;
        std::vector<std::uint8_t> before;  // what precedes the answer in the stream
        const char* counter;               // counted once for it
        std::uint64_t noise;
    };
    FakeSlave other;
    other.unit = 2;
    auto foreign = with_crc(hex("02 04 02 00 07"));  // a whole frame from unit 2
    auto late = with_crc(hex("01 01 01 01"));        // unit 1 answering the coil read of an earlier cycle
    std::vector<Case> cases = {
        {"one byte that starts no frame", hex("FF"), "malformed_responses", 1},
        {"zeros", hex("00 00 00"), "malformed_responses", 3},
        {"a header claiming 250 data bytes", hex("01 03 FA"), nullptr, 3},
        {"half an exception frame", hex("01 84"), "crc_errors", 2},
        {"another unit's whole frame", foreign, "wrong_unit", 0},
        {"a late answer to another request", late, "malformed_responses", 0},
    };
    for (const Case& c : cases) {
        for (bool split : {false, true}) {
            CAPTURE(c.what, split);
            Bench b(kMeter);
            FakeSlave slave;
            auto stream = cat(c.before, slave.answer(up_to_voltage_request(b, slave)));
            Since grew(b);
            if (split) {
                for (std::uint8_t byte : stream) {
                    b.feed({byte});
                    b.advance(5ms);  // each byte its own TCP segment, more than t3.5 apart
                }
            } else {
                b.feed(stream);
            }
            CHECK(grew("responses_ok") == 1);
            CHECK(grew("retries") == 0);
            CHECK(grew("noise_bytes") == c.noise);
            if (c.counter) CHECK(grew(c.counter) == 1);
            REQUIRE(find(b.readings, "voltage"));
        }
    }
    SECTION("the answer and the start of a later frame in one read") {
        Bench b(kMeter);
        FakeSlave slave;
        auto q = up_to_voltage_request(b, slave);
        Since grew(b);
        b.feed(cat(slave.answer(q), hex("01 04")));
        CHECK(grew("responses_ok") == 1);
        CHECK(grew("noise_bytes") == 2);  // nobody asked for them
    }
}

TEST_CASE("modbus monitor over a device server: both directions split at any byte, or coalesced", "[modbus][driver][stream]") {
    const char* config = R"(
settings: {mode: monitor}
devices:
  - name: boiler
    unit: 17
    points:
      - {name: t, ref: 40108, type: int16, scale: 0.1, unit: degC}
)";
    auto request = hex("11 03 00 6B 00 03 76 87");
    auto response = hex("11 03 06 02 2B 00 00 00 64 C8 BA");
    auto pair = cat(request, response);
    SECTION("one cut anywhere, a gap longer than t3.5") {
        for (std::size_t cut = 1; cut < pair.size(); ++cut) {
            CAPTURE(cut);
            Bench b(config);
            b.open();
            b.feed(std::vector<std::uint8_t>(pair.begin(), pair.begin() + static_cast<std::ptrdiff_t>(cut)));
            b.advance(100ms);
            b.feed(std::vector<std::uint8_t>(pair.begin() + static_cast<std::ptrdiff_t>(cut), pair.end()));
            REQUIRE(b.readings.size() == 1);
            CHECK(b.readings[0].value == Value{55.5});
            CHECK(b.counter("noise_bytes") == 0);
            CHECK(b.counter("unmatched_responses") == 0);
        }
    }
    SECTION("two transactions in one read") {
        Bench b(config);
        b.open();
        b.feed(cat(pair, pair));
        CHECK(b.readings.size() == 2);
        CHECK(b.counter("monitor_requests") == 2);
        CHECK(b.counter("monitor_responses") == 2);
    }
    SECTION("garbage, then a transaction") {
        for (auto garbage : {hex("FF"), hex("11 03 FA"), hex("11 10 00 00 00 7B F6"), hex("00 00 00 00")}) {
            CAPTURE(garbage);
            Bench b(config);
            b.open();
            b.feed(cat(garbage, pair));
            REQUIRE(b.readings.size() == 1);
            CHECK(b.readings[0].value == Value{55.5});
            CHECK(b.counter("noise_bytes") == garbage.size());
        }
    }
}
