// SHA-256 (gateway/security/sha256.hpp), the one copy: FIPS 180-2's example vectors, as raw bytes, as
// hex and over a file read in pieces.

#include <catch2/catch.hpp>

#include <fstream>

#include "core/hex.hpp"
#include "gateway/security/sha256.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;

TEST_CASE("sha256: the standard's vectors", "[sha256]") {
    struct Case {
        const char* what;
        std::string message;
        const char* digest;
    };
    const Case cases[] = {
        {"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"two blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"a NUL byte counts", std::string("\0", 1), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(sha256_hex(c.message) == c.digest);
        CHECK(sha256(c.message).size() == 32);
        CHECK(hex(sha256(c.message)) == c.digest);
    }
}

TEST_CASE("sha256: a file is hashed whole, however many reads it takes", "[sha256]") {
    testing::TempDir dir("sha256");
    auto path = dir.file("million-a");
    std::ofstream(path, std::ios::binary) << std::string(1'000'000, 'a');
    CHECK(file_sha256(path) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK(file_sha256(dir.file("absent")).empty());
}
