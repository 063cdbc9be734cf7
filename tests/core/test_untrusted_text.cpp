// Text from outside, shown to a human (core/untrusted_text.hpp): escaped so that it cannot forge a log
// line or act on a terminal, cut so that its sender does not choose how much of the log it takes.

#include <catch2/catch.hpp>

#include "core/untrusted_text.hpp"

using namespace loopgate;

TEST_CASE("untrusted text: printable ASCII is kept, every other byte is escaped", "[untrusted_text]") {
    struct Case {
        const char* what;
        std::string in;
        std::string out;
    };
    const Case cases[] = {
        {"empty", "", ""},
        {"a plain name", "gw-7 pump_station.2", "gw-7 pump_station.2"},
        {"quotes and punctuation stay", "a'b\"c{}~", "a'b\"c{}~"},
        {"a newline cannot start a line", "x\nloopgate error: forged", "x\\x0aloopgate error: forged"},
        {"carriage return", "x\rY", "x\\x0dY"},
        {"NUL", std::string("a\0b", 3), "a\\x00b"},
        {"a terminal escape", "\x1b[2J", "\\x1b[2J"},
        {"DEL", "\x7f", "\\x7f"},
        {"UTF-8 is shown as its bytes", "S\xC3\xBC" "d", "S\\xc3\\xbcd"},
        {"ill-formed bytes", "\xff\xfe", "\\xff\\xfe"},
        {"a backslash is escaped, so an escape in the input is not taken for one", "\\x0a", "\\\\x0a"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(untrusted_text(c.in) == c.out);
    }
}

TEST_CASE("untrusted text: at most max_bytes of the input are shown, then its length", "[untrusted_text]") {
    CHECK(untrusted_text(std::string(64, 'a')) == std::string(64, 'a'));
    CHECK(untrusted_text(std::string(65, 'a')) == std::string(64, 'a') + "...(65 bytes)");
    CHECK(untrusted_text("abcdef", 3) == "abc...(6 bytes)");
    CHECK(untrusted_text("abc", 0) == "...(3 bytes)");
    // The worst case, every byte escaped: 4 output bytes per input byte, plus the length note.
    std::string worst = untrusted_text(std::string(20'000, '\n'));
    CHECK(worst.size() == 4 * kUntrustedTextMax + std::string("...(20000 bytes)").size());
    for (char c : worst) CHECK((c >= 0x20 && c < 0x7f));
}
