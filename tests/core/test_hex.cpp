// Bytes as lowercase hex and back (core/hex.hpp): the one encoding of key ids, SHA-256 digests and the
// replay journal's command ids.

#include <catch2/catch.hpp>

#include "core/hex.hpp"

using namespace loopgate;

TEST_CASE("hex: two lowercase digits a byte, in the order given", "[hex]") {
    struct Case {
        const char* what;
        std::string bytes;
        std::string text;
    };
    const Case cases[] = {
        {"empty", "", ""},
        {"00 ff 10", std::string("\x00\xff\x10", 3), "00ff10"},
        {"every nibble", "\x01\x23\x45\x67\x89\xab\xcd\xef", "0123456789abcdef"},
        {"text is bytes too", "abc", "616263"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(hex(c.bytes) == c.text);
        std::string appended = "x'";
        append_hex(appended, c.bytes);
        CHECK(appended == "x'" + c.text);
        std::string back = "left over";
        REQUIRE(unhex(c.text, back));
        CHECK(back == c.bytes);
    }
}

TEST_CASE("hex: unhex refuses what hex never writes", "[hex]") {
    std::string out;
    CHECK_FALSE(unhex("0", out));       // odd length
    CHECK_FALSE(unhex("00f", out));
    CHECK_FALSE(unhex("0g", out));      // not a digit
    CHECK_FALSE(unhex("FF", out));      // uppercase: hex() writes lowercase only
    CHECK_FALSE(unhex("0 ", out));
    CHECK_FALSE(unhex("x'00'", out));
}
