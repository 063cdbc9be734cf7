// Device text becomes well-formed UTF-8 without control characters before it reaches a protobuf
// `string` field: ill-formed sequences and controls turn into U+FFFD, one per maximal subpart.

#include <catch2/catch.hpp>

#include "drivers/text/sanitize_text.hpp"

using namespace loopgate;

namespace {

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

TEST_CASE("sanitize_text keeps well-formed text and replaces each maximal ill-formed subpart once", "[text]") {
    struct Case {
        const char* name;
        std::string in;
        std::string out;
        std::size_t replaced;
    };
    std::vector<Case> cases = {
        {"empty", "", "", 0},
        {"printable ASCII", "T=21.5 ok", "T=21.5 ok", 0},
        {"TAB is kept", "a\tb", "a\tb", 0},
        {"2-byte (degree sign)", "21\xC2\xB0" "C", "21\xC2\xB0" "C", 0},
        {"3-byte (euro sign)", "\xE2\x82\xAC", "\xE2\x82\xAC", 0},
        {"4-byte emoji kept", "ok \xF0\x9F\x98\x80", "ok \xF0\x9F\x98\x80", 0},
        {"highest code point U+10FFFF", "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", 0},
        {"U+FFFD itself is kept", R, R, 0},
        {"lone FF FE", "\xFF\xFE", R + R, 2},
        {"lone continuation byte", "a\x80z", "a" + R + "z", 1},
        {"cut 2-byte at end: caf\\xC3", "caf\xC3", "caf" + R, 1},
        {"cut 3-byte at end", "x\xE2\x82", "x" + R, 1},
        {"cut 4-byte at end", "x\xF0\x9F\x98", "x" + R, 1},
        {"cut sequence followed by ASCII", "\xE2\x82" "A", R + "A", 1},
        {"overlong 2-byte /: C0 AF", "\xC0\xAF", R + R, 2},
        {"overlong 3-byte /: E0 80 AF", "\xE0\x80\xAF", R + R + R, 3},
        {"overlong 4-byte: F0 80 80 AF", "\xF0\x80\x80\xAF", R + R + R + R, 4},
        {"overlong NUL: C0 80", "\xC0\x80", R + R, 2},
        {"lone high surrogate ED A0 80", "\xED\xA0\x80", R + R + R, 3},
        {"lone low surrogate ED BF BF", "\xED\xBF\xBF", R + R + R, 3},
        {"surrogate pair in CESU-8", "\xED\xA0\xBD\xED\xB8\x80", R + R + R + R + R + R, 6},
        {"above U+10FFFF: F4 90 80 80", "\xF4\x90\x80\x80", R + R + R + R, 4},
        {"F5 lead byte", "\xF5\x80\x80\x80", R + R + R + R, 4},
        {"5-byte form", "\xF8\x88\x80\x80\x80", R + R + R + R + R, 5},
        // Unicode 15 section 3.9, table 3-8: U+FFFD for maximal subparts.
        {"Unicode table 3-8", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
         "a" + R + R + R + "b" + R + "c" + R + R + "d", 6},
        {"ESC sequence", "\x1B[2J", R + "[2J", 1},
        {"BEL", "ring\x07", "ring" + R, 1},
        {"NUL", std::string("a\0b", 3), "a" + R + "b", 1},
        {"CR and LF", "a\r\nb", "a" + R + R + "b", 2},
        {"DEL", "a\x7F", "a" + R, 1},
        {"C1 control CSI U+009B", "\xC2\x9B" "2J", R + "2J", 1},
        {"U+00A0 after the C1 range is kept", "\xC2\xA0", "\xC2\xA0", 0},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            std::string text = c.in;
            CHECK(sanitize_text(text) == c.replaced);
            CHECK(text == c.out);
            CHECK(valid_utf8(text));
            CHECK(clean_text(text));
            CHECK(clean_text(c.in) == (c.replaced == 0));
        }
    }
}

TEST_CASE("valid_utf8 judges form only, control characters are well-formed", "[text]") {
    CHECK(valid_utf8("\x1B[0m\x07"));
    CHECK(valid_utf8("\xC2\x9B"));
    CHECK_FALSE(clean_text("\x1B[0m"));
    CHECK_FALSE(valid_utf8("\xC0\xAF"));
    CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));
    CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));
    CHECK_FALSE(valid_utf8("caf\xC3"));
    CHECK(valid_utf8("caf\xC3\xA9"));
}

TEST_CASE("sanitize_text output agrees with a conforming decoder on every two-byte input", "[text]") {
    // Exhaustive over two bytes: the result is always well-formed, and well-formed input without
    // controls comes back unchanged.
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            std::string in{static_cast<char>(a), static_cast<char>(b)};
            std::string text = in;
            std::size_t replaced = sanitize_text(text);
            REQUIRE(valid_utf8(text));
            REQUIRE(clean_text(text));
            if (replaced == 0) REQUIRE(text == in);
        }
    }
}
