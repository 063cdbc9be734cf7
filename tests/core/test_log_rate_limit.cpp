// The log's rate limit (core/log.hpp) counts by the kind of event - the logging call's literal text -
// so that a sender who varies the text it makes the gateway log (a gateway_id, a topic, a user name)
// still gets `burst` lines a minute, not one each.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/log.hpp"

using namespace loopgate;

namespace {
std::vector<std::string> emitted;
void keep(log::Level, const std::string& message) { emitted.push_back(message); }
}  // namespace

TEST_CASE("log kinds: the literals of a call, with every other argument a slot", "[log]") {
    std::string id = "gw\nforged";
    const char* pointer = "not a literal";
    CHECK(log::kind_of("remote config: update", std::string(" version 7"), " refused: ", id) ==
          "remote config: update{} refused: {}");
    CHECK(log::kind_of(pointer, 42, 1.5) == "{}{}{}");
    CHECK(log::kind_of("port ", id, ": lost") == log::kind_of("port ", std::string("other"), ": lost"));
    CHECK(log::kind_of("a") != log::kind_of("b"));
    std::string port = "meters";
    CHECK(log::kind_of("port ", log::subject(port), ": ", id) == "port meters: {}");
}

TEST_CASE("log rate limit: 100 warnings of one kind with varied text give the burst, other kinds pass", "[log]") {
    emitted.clear();
    log::set_observer(keep);
    for (int i = 0; i < 100; ++i)
        log::warning("test rate limit: refused for gateway '", std::string(static_cast<std::size_t>(i % 7 + 1), 'x') + "\\" +
                     std::to_string(i) + "'");
    log::warning("test rate limit: another kind of event");
    log::info("test rate limit: info is not limited");
    log::set_observer(nullptr);
    REQUIRE(emitted.size() == 5 + 2);
    CHECK(emitted[0] == "test rate limit: refused for gateway 'x\\0'");
    CHECK(emitted[5] == "test rate limit: another kind of event");
    CHECK(emitted[6] == "test rate limit: info is not limited");
}

TEST_CASE("log rate limit: each port has its own, so one failing every poll does not hide another's first error", "[log]") {
    emitted.clear();
    log::set_observer(keep);
    const std::string flooding = "line-1", quiet = "line-2";
    for (int i = 0; i < 100; ++i)
        log::warning("port ", log::subject(flooding), ": ", "unit " + std::to_string(i % 3 + 1) + " timed out");
    log::warning("port ", log::subject(quiet), ": ", std::string("CRC mismatch"));
    log::set_observer(nullptr);
    REQUIRE(emitted.size() == 5 + 1);
    CHECK(emitted[0] == "port line-1: unit 1 timed out");
    CHECK(emitted[5] == "port line-2: CRC mismatch");
}
