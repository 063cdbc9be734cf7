// Which broker of uplink.brokers the uplink uses (gateway/uplink/broker_failover.hpp), on a fake
// clock: each row plays a script of events against brokers A, B (and C) and reads back what the
// uplink would do and show. Script steps:
//   ok          the connect to the current broker succeeds     fail   it fails
//   lose        the connection is lost                        taken  lost with MQTT 5 reason 0x8E
//   +5s, +300ms the clock moves on
//   up, down    a probe finds the first broker answering, or not
//   due?        whether a failback is due now; when it is, the uplink leaves for A
// The trace records what the uplink acts on: "A>B" a failover, "B>>A" a failback, "CONFLICT" the one
// client id conflict report, "due"/"wait" the failback checks, "probe"/"-" whether it would probe.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/uplink/broker_failover.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {

using Time = BrokerFailover::Time;

struct Run {
    std::string trace;
    std::string current;
    std::uint64_t failovers = 0;
    std::uint64_t failbacks = 0;
    std::string cause;
    bool conflict = false;
};

std::string name(std::size_t i) { return std::string(1, static_cast<char>('A' + i)); }

Run play(std::size_t brokers, std::chrono::milliseconds failback_after, const std::vector<std::string>& script) {
    BrokerFailover f(brokers, failback_after);
    Time now = Time{} + 1h;
    std::vector<std::string> trace;
    for (const std::string& step : script) {
        if (step == "ok") {
            if (auto m = f.connected(now)) trace.push_back(name(m->from) + (m->failback ? ">>" : ">") + name(m->to));
        } else if (step == "fail") {
            f.connect_failed(name(f.current()) + " refused");
        } else if (step == "lose" || step == "taken") {
            if (f.lost(name(f.current()) + " lost", now, step == "taken")) trace.push_back("CONFLICT");
        } else if (step == "up" || step == "down") {
            f.probed(step == "up", now);
        } else if (step == "due?") {
            bool due = f.failback_due(now);
            trace.push_back(due ? "due" : "wait");
            if (due) f.failing_back();
        } else if (step == "probe?") {
            trace.push_back(f.wants_probe() ? "probe" : "-");
        } else if (step.size() > 1 && step[0] == '+') {
            bool ms = step.find("ms") != std::string::npos;
            long long n = std::stoll(step.substr(1));
            now += ms ? std::chrono::milliseconds(n) : std::chrono::milliseconds(n * 1000);
        } else {
            FAIL("unknown step " << step);
        }
    }
    Run r;
    for (const auto& t : trace) r.trace += (r.trace.empty() ? "" : " ") + t;
    r.current = name(f.current());
    r.failovers = f.failovers();
    r.failbacks = f.failbacks();
    r.cause = f.last_failover_cause();
    r.conflict = f.client_id_conflict(now);
    return r;
}

}  // namespace

TEST_CASE("broker failover: which broker, and what counts as a failover", "[uplink][failover]") {
    struct Row {
        const char* what;
        std::size_t brokers;
        std::vector<std::string> script;
        std::string trace, current;
        std::uint64_t failovers;
        std::string cause;
    };
    const Row rows[] = {
        {"the first broker answers: no failover", 2, {"ok"}, "", "A", 0, ""},
        {"the first is down at the start: the second, counted as a failover", 2, {"fail", "ok"}, "A>B", "B", 1,
         "A refused"},
        {"a loss moves to the next broker", 2, {"ok", "+60s", "lose", "ok"}, "A>B", "B", 1, "A lost"},
        {"the list wraps: lost on the last, back to the first (never stuck on the last)", 2,
         {"ok", "+60s", "lose", "ok", "+60s", "lose", "ok"}, "A>B B>A", "A", 2, "B lost"},
        {"a dead broker is skipped; the cause is why the last one was left", 3,
         {"ok", "+60s", "lose", "fail", "ok"}, "A>C", "C", 1, "A lost"},
        {"every broker down: round after round, then whichever answers", 3,
         {"ok", "+60s", "lose", "fail", "fail", "fail", "fail", "ok"}, "A>C", "C", 1, "A lost"},
        {"one broker: a reconnect to it is no failover", 1, {"ok", "+60s", "lose", "fail", "fail", "ok"}, "", "A", 0, ""},
        {"back on the broker just left after a round: no failover", 2, {"ok", "+60s", "lose", "fail", "ok"}, "", "A", 0,
         ""},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        Run r = play(row.brokers, 5min, row.script);
        CHECK(r.trace == row.trace);
        CHECK(r.current == row.current);
        CHECK(r.failovers == row.failovers);
        CHECK(r.cause == row.cause);
    }
}

TEST_CASE("broker failover: failback to the first broker after failback_after", "[uplink][failover]") {
    struct Row {
        const char* what;
        std::chrono::milliseconds failback_after;
        std::vector<std::string> script;
        std::string trace, current;
        std::uint64_t failovers, failbacks;
    };
    const std::vector<std::string> on_b = {"ok", "+60s", "lose", "ok"};
    auto on_b_then = [&](std::vector<std::string> more) {
        std::vector<std::string> s = on_b;
        s.insert(s.end(), more.begin(), more.end());
        return s;
    };
    const Row rows[] = {
        {"on the first broker nothing is probed", 5min, {"ok", "probe?"}, "-", "A", 0, 0},
        {"on a backup the first is probed", 5min, on_b_then({"probe?"}), "A>B probe", "B", 1, 0},
        {"failback_after 0: stay where you are", 0ms, on_b_then({"probe?", "up", "+1h", "up", "due?"}), "A>B - wait",
         "B", 1, 0},
        {"answering for failback_after: back to the first", 5min,
         on_b_then({"up", "+299s", "up", "due?", "+1s", "up", "due?", "ok"}), "A>B wait due B>>A", "A", 1, 1},
        {"a probe it does not answer starts the wait again", 5min,
         on_b_then({"up", "+200s", "down", "+200s", "up", "+200s", "up", "due?", "+100s", "up", "due?", "ok"}),
         "A>B wait due B>>A", "A", 1, 1},
        {"a failback whose connect fails: back to the backup, and twice the wait before the next", 10s,
         on_b_then({"up", "+10s", "up", "due?", "fail", "ok", "up", "+10s", "up", "due?", "+10s", "up", "due?", "ok"}),
         "A>B due wait due B>>A", "A", 1, 1},
        {"after a failback that worked the wait is failback_after again", 10s,
         on_b_then({"up", "+10s", "up", "due?", "ok", "+60s", "lose", "ok", "up", "+10s", "up", "due?"}),
         "A>B due B>>A A>B due", "A", 2, 1},
        {"not connected: nothing is probed", 5min, {"ok", "+60s", "lose", "fail", "probe?"}, "-", "A", 0, 0},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        Run r = play(2, row.failback_after, row.script);
        CHECK(r.trace == row.trace);
        CHECK(r.current == row.current);
        CHECK(r.failovers == row.failovers);
        CHECK(r.failbacks == row.failbacks);
    }
}

TEST_CASE("broker failover: probes are spaced by a quarter of failback_after, 1 s to 30 s", "[uplink][failover]") {
    CHECK(BrokerFailover(2, 5min).probe_interval() == 30s);
    CHECK(BrokerFailover(2, 60s).probe_interval() == 15s);
    CHECK(BrokerFailover(2, 2s).probe_interval() == 1s);
}

TEST_CASE("broker failover: a client id in use by another client is reported once", "[uplink][failover]") {
    struct Row {
        const char* what;
        std::size_t brokers;
        std::vector<std::string> script;
        std::string trace;
        bool conflict;
    };
    const Row rows[] = {
        {"the broker says the session was taken over (MQTT 5 0x8E)", 1, {"ok", "+60s", "taken"}, "CONFLICT", true},
        {"three connections in a row closed right after their connect", 1,
         {"ok", "+300ms", "lose", "ok", "+400ms", "lose", "ok", "+500ms", "lose"}, "CONFLICT", true},
        {"...reported once however long it goes on", 1,
         {"ok", "+1s", "lose", "ok", "+1s", "lose", "ok", "+1s", "lose", "ok", "+1s", "taken", "ok", "+1s", "lose"},
         "CONFLICT", true},
        {"two short sessions are not yet a pattern", 1, {"ok", "+1s", "lose", "ok", "+1s", "lose"}, "", false},
        {"a long session between short ones resets the count", 1,
         {"ok", "+1s", "lose", "ok", "+1s", "lose", "ok", "+30s", "lose", "ok", "+1s", "lose"}, "", false},
        {"a connection that lasts clear_after clears it", 1,
         {"ok", "+1s", "lose", "ok", "+1s", "lose", "ok", "+1s", "lose", "ok", "+61s"}, "CONFLICT", false},
        {"...and a later episode is reported again", 1,
         {"ok", "+1s", "taken", "ok", "+61s", "lose", "ok", "+1s", "taken"}, "CONFLICT CONFLICT", true},
        {"connect failures are no sessions", 1, {"fail", "fail", "fail", "fail", "ok"}, "", false},
        {"also across a broker list (a cluster takes over on every node)", 2,
         {"ok", "+1s", "lose", "ok", "+1s", "lose", "ok", "+1s", "lose", "ok"}, "A>B B>A CONFLICT A>B", true},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        Run r = play(row.brokers, 5min, row.script);
        CHECK(r.trace == row.trace);
        CHECK(r.conflict == row.conflict);
    }
}
