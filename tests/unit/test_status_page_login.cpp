// The status page's login, piece by piece: base64 against RFC 4648's vectors, the Basic header
// against RFC 7617's example, password hashes (their digest is checked against Python's hashlib in
// tests/integration/test_status_page_login.py), and the guard that throttles guessing.

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "gateway/config.hpp"
#include "gateway/ops/basic_auth.hpp"
#include "gateway/ops/login_guard.hpp"
#include "gateway/security/base64.hpp"
#include "gateway/security/password_hash.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;

TEST_CASE("base64 encodes and decodes RFC 4648's test vectors") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
    }
}

TEST_CASE("base64 refuses anything but canonical padded text") {
    for (const char* bad : {"Zg", "Zg=", "Zh==", "Zm9=", "Zm 9v", "Zm9v====", "=Zm9", "Z===", "Zm9v\n", "Zm-v"})
        CHECK_FALSE(base64_decode(bad).has_value());
}

TEST_CASE("a Basic Authorization header yields user and password") {
    auto c = parse_basic_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617 section 2
    REQUIRE(c);
    CHECK(c->user == "Aladdin");
    CHECK(c->password == "open sesame");
    CHECK(parse_basic_authorization("basic  " + base64_encode("tech:a:b:c") + " ")->password == "a:b:c");
    CHECK(parse_basic_authorization("Basic " + base64_encode("tech:"))->password.empty());
}

TEST_CASE("anything else in the header is no credentials") {
    for (const std::string& bad :
         {std::string(""), std::string("Basic"), std::string("Basic "), std::string("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
          std::string("BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ=="), "Basic " + base64_encode(":nouser"),
          "Basic " + base64_encode("nocolon"), "Basic " + base64_encode("te\nch:pw"), "Basic " + base64_encode("tech:p\x7fw"),
          std::string("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ"), "Basic " + base64_encode("tech:" + std::string(2000, 'x'))})
        CHECK_FALSE(parse_basic_authorization(bad).has_value());
}

TEST_CASE("a password hash matches its password only") {
    std::string hash = hash_password("correct horse", 10'000);
    CHECK(hash.rfind("pbkdf2-sha256$10000$", 0) == 0);
    CHECK(password_hash_problem(hash).empty());
    CHECK(password_matches("correct horse", hash));
    CHECK_FALSE(password_matches("correct hors", hash));
    CHECK_FALSE(password_matches("", hash));
    CHECK(hash_password("correct horse", 10'000) != hash);  // a fresh salt every time
}

TEST_CASE("a malformed password hash is named, and matches nothing") {
    std::string good = hash_password("pw", 10'000);
    std::string digest = good.substr(good.rfind('$') + 1);
    CHECK(password_hash_problem("hunter2").find("expected pbkdf2-sha256$") != std::string::npos);
    CHECK(password_hash_problem("pbkdf2-sha256$100$c2FsdHNhbHQ=$" + digest).find("iterations") != std::string::npos);
    CHECK(password_hash_problem("pbkdf2-sha256$10000$c2FsdA==$" + digest).find("salt") != std::string::npos);
    CHECK(password_hash_problem("pbkdf2-sha256$10000$c2FsdHNhbHQ=$Zm9v").find("digest") != std::string::npos);
    CHECK_FALSE(password_matches("pw", "hunter2"));
}

TEST_CASE("the login guard lets the right password in and throttles guessing per address") {
    LoginGuard guard({HttpUser{"tech", hash_password("right", 10'000)}});
    auto t0 = std::chrono::steady_clock::now();
    const std::string right = "Basic " + base64_encode("tech:right");
    const std::string wrong = "Basic " + base64_encode("tech:wrong");
    CHECK(guard.check("10.0.0.1", "", t0) == LoginVerdict::denied);  // no header: ask for one, not a strike
    CHECK(guard.check("10.0.0.1", right, t0) == LoginVerdict::allowed);
    CHECK(guard.check("10.0.0.1", right, t0) == LoginVerdict::allowed);  // remembered
    CHECK(guard.check("10.0.0.1", "Basic " + base64_encode("admin:right"), t0) == LoginVerdict::denied);
    for (int i = 1; i < LoginGuard::failures_allowed; ++i) CHECK(guard.check("10.0.0.1", wrong, t0) == LoginVerdict::denied);
    // Five strikes: even the right password is not looked at from there for a while...
    CHECK(guard.check("10.0.0.1", right, t0 + std::chrono::seconds(1)) == LoginVerdict::throttled);
    // ...while another address is not affected...
    CHECK(guard.check("10.0.0.2", right, t0 + std::chrono::seconds(1)) == LoginVerdict::allowed);
    // ...and the window ends.
    CHECK(guard.check("10.0.0.1", right, t0 + LoginGuard::window) == LoginVerdict::allowed);
    CHECK(guard.failures() == LoginGuard::failures_allowed);
}

TEST_CASE("a users file holds NAME:HASH lines and names the line of a bad one") {
    testing::TempDir dir("users-file");
    std::string path = (dir.path / "users").string();
    std::string hash = hash_password("pw", 10'000);
    std::ofstream(path) << "# made by loopgate passwd\n\ntech:" << hash << "\r\nnight:" << hash << "\n";
    auto users = read_password_file(path);
    REQUIRE(users.size() == 2);
    CHECK(users[0].name == "tech");
    CHECK(users[1].hash == hash);
    std::ofstream(path) << "tech:" << hash << "\nnight:hunter2\n";
    CHECK_THROWS_WITH(read_password_file(path), Catch::Contains(path + ":2: expected pbkdf2-sha256$"));
    std::ofstream(path) << ":" << hash << "\n";
    CHECK_THROWS_WITH(read_password_file(path), Catch::Contains(path + ":1: expected NAME:PASSWORD_HASH"));
    std::ofstream(path) << "# nobody\n";
    CHECK_THROWS_WITH(read_password_file(path), Catch::Contains("no NAME:PASSWORD_HASH line"));
}
