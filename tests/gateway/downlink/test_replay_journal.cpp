// The replay window on disk (gateway/downlink/replay_journal.hpp): what one run accepted is refused by the
// next, written before the command is carried out, and a damaged file fails closed.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gateway/downlink/command_check.hpp"
#include "gateway/downlink/replay_journal.hpp"

using namespace loopgate;

namespace {

constexpr std::int64_t s = 1'000'000'000;
constexpr std::int64_t now = 1'700'000'000 * s;

std::string bytes(const std::string& id, std::int64_t expires) {
    v1::Command c;
    c.set_id(id);
    c.set_device("meter");
    c.set_point("setpoint");
    c.set_double_value(1.5);
    c.set_expires_ns(expires);
    std::string out;
    c.SerializeToString(&out);
    return out;
}

struct Dir {
    static inline int made = 0;
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("loopgate-replay-" + std::to_string(::getpid()) + "-" + std::to_string(++made));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() { std::filesystem::remove_all(path); }
    std::string file() const { return (path / "store.db.command-ids").string(); }
};

CommandsConfig enabled() {
    CommandsConfig c;
    c.enabled = true;
    return c;
}

}  // namespace

TEST_CASE("replay window text round-trips ids of any bytes, and drops expired ones", "[commands][replay]") {
    std::unordered_map<std::string, std::int64_t> ids = {
        {"a b", now + 5 * s}, {std::string("\x80\xff id", 5), now + s}, {"old", now - s}};
    std::string text = format_replay_window(ids);
    ReplayIds out;
    REQUIRE(parse_replay_window(text, now, out).empty());
    CHECK(out == ReplayIds{{std::string("\x80\xff id", 5), now + s}, {"a b", now + 5 * s}});
}

TEST_CASE("a damaged replay window file is told from a good one", "[commands][replay]") {
    std::string good = format_replay_window({{"c1", now + s}, {"c2", now + 2 * s}});
    ReplayIds out;
    std::string flipped = good;
    flipped[flipped.find("6331")] = '7';  // "c1" -> "s1"
    for (const auto& [what, text, why] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"empty", "", "not a command id file"},
             {"torn write", good.substr(0, good.size() / 2), "truncated"},
             {"no end line", good.substr(0, good.rfind("end")), "truncated"},
             {"an edited id", flipped, "checksum mismatch"},
             {"garbage", std::string(100, '\xff'), "not a command id file"},
         }) {
        INFO(what);
        CHECK_THAT(parse_replay_window(text, now, out), Catch::Contains(why));
    }
}

TEST_CASE("an accepted command id is saved before the write, and refused by the next run", "[commands][replay]") {
    Dir dir;
    ReplayJournal journal(dir.file());
    std::vector<std::string> events;
    CommandTarget target;
    target.admit = [](const std::string&, std::int64_t) { return Refusal{}; };
    target.submit = [&](const v1::Command&) {
        // The id must already be on disk when the device is written.
        ReplayWindow w = journal.load(now);
        events.push_back("write with " + std::to_string(w.ids.size()) + " ids on disk");
        return Refusal{};
    };
    {
        CommandProcessor first(enabled(), "gw1");
        first.restore_replay_window(journal.load(now).ids, 0);
        first.save_replay_window_with([&](const auto& ids) { return journal.save(ids); });
        CHECK(first.process(bytes("c1", now + 10 * s), now, target).submitted());
    }
    CHECK(events == std::vector<std::string>{"write with 1 ids on disk"});
    CHECK_FALSE(std::filesystem::exists(dir.file() + ".tmp"));

    // A restart within the command's lifetime: the same bytes are a replay.
    CommandProcessor second(enabled(), "gw1");
    ReplayWindow w = journal.load(now + 3 * s);
    REQUIRE(w.problem.empty());
    second.restore_replay_window(w.ids, 0);
    v1::CommandResult again = second.process(bytes("c1", now + 10 * s), now + 3 * s, target).result;
    CHECK(again.status() == v1::CommandResult::REFUSED);
    CHECK_THAT(again.error(), Catch::Contains("repeated id 'c1' (replay)"));
    CHECK(events.size() == 1);

    // Once it has expired the id is dropped from the file at load.
    CHECK(journal.load(now + 11 * s).ids.empty());
}

TEST_CASE("a command whose id cannot be saved is refused, and may be retried", "[commands][replay]") {
    CommandProcessor p(enabled(), "gw1");
    int writes = 0;
    CommandTarget target;
    target.admit = [](const std::string&, std::int64_t) { return Refusal{}; };
    target.submit = [&](const v1::Command&) { return ++writes, Refusal{}; };
    std::string disk_error = "cannot sync x: No space left on device";
    p.save_replay_window_with([&](const auto&) { return disk_error; });
    v1::CommandResult r = p.process(bytes("c1", now + 10 * s), now, target).result;
    CHECK(r.status() == v1::CommandResult::REFUSED);
    CHECK_THAT(r.error(), Catch::Contains("cannot record the command id") && Catch::Contains("No space left"));
    CHECK(writes == 0);
    disk_error.clear();
    CHECK(p.process(bytes("c1", now + 10 * s), now + s, target).submitted());
    CHECK(writes == 1);
}

TEST_CASE("a lost replay window refuses what could predate the start, and nothing issued after", "[commands][replay]") {
    Dir dir;
    std::ofstream(dir.file()) << "loopgate command ids 1\n123 6331\nend 1 00";  // torn: no checksum, no newline
    ReplayWindow w = ReplayJournal(dir.file()).load(now);
    CHECK_THAT(w.problem, Catch::Contains(dir.file()) && Catch::Contains("truncated"));
    CHECK(w.ids.empty());

    CommandsConfig cfg = enabled();  // max_lifetime 60 s
    CommandProcessor p(cfg, "gw1");
    p.restore_replay_window(w.ids, now + cfg.max_lifetime_ms * 1'000'000);
    CommandTarget target;
    target.admit = [](const std::string&, std::int64_t) { return Refusal{}; };
    target.submit = [](const v1::Command&) { return Refusal{}; };
    // Issued up to a minute before the start, expiring after it: maybe accepted by the last run.
    v1::CommandResult captured = p.process(bytes("old", now + 30 * s), now + s, target).result;
    CHECK(captured.status() == v1::CommandResult::REFUSED);
    CHECK_THAT(captured.error(), Catch::Contains("replay window of the previous run was lost"));
    // Issued 5 s after the start with the full lifetime: cannot be from before.
    CHECK(p.process(bytes("new", now + 65 * s), now + 5 * s, target).submitted());
}

TEST_CASE("an unreadable replay window file is reported, a missing one is the first start", "[commands][replay]") {
    Dir dir;
    CHECK(ReplayJournal(dir.file()).load(now).problem.empty());
    std::filesystem::create_directory(dir.file());  // a directory where the file should be
    CHECK_THAT(ReplayJournal(dir.file()).load(now).problem, Catch::Contains("cannot read"));
    CHECK_THAT(ReplayJournal(dir.file()).save({{"c1", now}}), Catch::Contains("cannot rename"));
}
