// The status page's login, piece by piece: base64 against RFC 4648's vectors, the Basic header
// against RFC 7617's example, password hashes (their digest is checked against Python's hashlib in
// tests/integration/test_status_page_login.py), and the guard and throttle that slow guessing
// (tests/integration/test_status_page_login_flood.py drives them through the real server).

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

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

namespace {

// The guard's steps with the hash checked in line, as the server's worker would.
LoginVerdict login(LoginGuard& guard, const std::string& client, const std::string& authorization,
                   std::chrono::steady_clock::time_point now) {
    PasswordCheck check;
    LoginVerdict verdict = guard.begin(client, authorization, check, now);
    if (verdict != LoginVerdict::check_password) return verdict;
    return guard.finish(client, check, password_matches(check.password, check.hash), now);
}

}  // namespace

TEST_CASE("the login guard lets the right password in and throttles guessing per address") {
    LoginGuard guard({HttpUser{"tech", hash_password("right", 10'000)}}, HttpConfig{}.login_addresses);
    auto t0 = std::chrono::steady_clock::now();
    const std::string right = "Basic " + base64_encode("tech:right");
    const std::string wrong = "Basic " + base64_encode("tech:wrong");
    CHECK(login(guard, "10.0.0.1", "", t0) == LoginVerdict::denied);  // no header: ask for one, not a strike
    CHECK(login(guard, "10.0.0.1", right, t0) == LoginVerdict::allowed);
    PasswordCheck unused;
    CHECK(guard.begin("10.0.0.1", right, unused, t0) == LoginVerdict::allowed);  // remembered: no hash to check
    CHECK(login(guard, "10.0.0.1", "Basic " + base64_encode("admin:right"), t0) == LoginVerdict::denied);
    CHECK(login(guard, "10.0.0.1", "Bearer abc", t0) == LoginVerdict::denied);  // not Basic: a strike without a hash
    for (int i = 2; i < LoginGuard::failures_allowed; ++i) CHECK(login(guard, "10.0.0.1", wrong, t0) == LoginVerdict::denied);
    // Five strikes: even the right password is not looked at from there for a while...
    CHECK(login(guard, "10.0.0.1", right, t0 + std::chrono::seconds(1)) == LoginVerdict::throttled);
    // ...while another address is not affected...
    CHECK(login(guard, "10.0.0.2", right, t0 + std::chrono::seconds(1)) == LoginVerdict::allowed);
    // ...and the window ends.
    CHECK(login(guard, "10.0.0.1", right, t0 + LoginGuard::window) == LoginVerdict::allowed);
    CHECK(guard.failures() == LoginGuard::failures_allowed);
}

TEST_CASE("a login being checked counts against its address, so parallel guesses do not slip past the limit") {
    LoginGuard guard({HttpUser{"tech", hash_password("right", 10'000)}}, HttpConfig{}.login_addresses);
    auto t0 = std::chrono::steady_clock::now();
    const std::string wrong = "Basic " + base64_encode("tech:wrong");
    std::vector<PasswordCheck> in_flight(LoginGuard::failures_allowed);
    for (PasswordCheck& check : in_flight) CHECK(guard.begin("10.0.0.1", wrong, check, t0) == LoginVerdict::check_password);
    PasswordCheck sixth;
    CHECK(guard.begin("10.0.0.1", wrong, sixth, t0) == LoginVerdict::throttled);
    guard.abandon("10.0.0.1", t0);  // a check that could not run (the worker's queue was full) gives its place back
    CHECK(guard.begin("10.0.0.1", wrong, sixth, t0) == LoginVerdict::check_password);
}

// The throttle on its own, on a fake clock: each row is one step and what it must answer.
TEST_CASE("the login throttle, step by step") {
    using namespace std::chrono_literals;
    using Clock = LoginThrottle::Clock;
    enum Op { refuses, begin_failed, begin_matched };
    struct Step {
        const char* client;
        Op op;
        std::chrono::seconds at;
        bool expected;  // refuses: the answer; begin_*: whether the address is shut out by this end()
    };
    struct Table {
        const char* name;
        std::size_t capacity;
        std::vector<Step> steps;
    };
    const Table tables[] = {
        {"five failures shut an address out until a minute after its first attempt",
         8,
         {{"a", begin_failed, 0s, false}, {"a", begin_failed, 1s, false}, {"a", begin_failed, 2s, false},
          {"a", begin_failed, 3s, false}, {"a", refuses, 4s, false}, {"a", begin_failed, 4s, true},
          {"a", refuses, 5s, true}, {"b", refuses, 5s, false}, {"a", refuses, 59s, true}, {"a", refuses, 60s, false},
          {"a", begin_failed, 60s, false}, {"a", refuses, 61s, false}}},
        {"a match clears nothing, and takes no room when nothing is held against the address",
         1,
         {{"a", begin_matched, 0s, false}, {"b", refuses, 0s, false}, {"a", begin_failed, 1s, false},
          {"a", begin_matched, 2s, false}, {"b", refuses, 2s, true}}},
        {"a full table refuses every other address and keeps the ones it holds",
         2,
         {{"a", begin_failed, 0s, false}, {"a", begin_failed, 0s, false}, {"a", begin_failed, 0s, false},
          {"a", begin_failed, 0s, false}, {"a", begin_failed, 0s, true}, {"b", begin_failed, 10s, false},
          {"c", refuses, 11s, true}, {"d", refuses, 12s, true}, {"a", refuses, 12s, true}, {"b", refuses, 12s, false},
          // a's minute is over: its place is free, so c may try again
          {"c", refuses, 60s, false}, {"c", begin_failed, 60s, false}, {"d", refuses, 61s, true},
          {"b", refuses, 70s, false}, {"d", refuses, 70s, false}}},
        {"flooding the table does not make it forget a shut-out address",
         3,
         {{"a", begin_failed, 0s, false}, {"a", begin_failed, 0s, false}, {"a", begin_failed, 0s, false},
          {"a", begin_failed, 0s, false}, {"a", begin_failed, 0s, true}, {"b", begin_failed, 1s, false},
          {"c", begin_failed, 1s, false}, {"d", refuses, 1s, true}, {"e", refuses, 2s, true},
          {"a", refuses, 30s, true}, {"a", refuses, 59s, true}}},
    };
    for (const Table& table : tables) {
        SECTION(table.name) {
            LoginThrottle throttle(table.capacity);
            Clock::time_point t0{};
            int row = 0;
            for (const Step& step : table.steps) {
                INFO("row " << row++ << ": " << step.client << " at " << step.at.count() << " s");
                Clock::time_point now = t0 + step.at;
                if (step.op == refuses) {
                    CHECK(throttle.refuses(step.client, now) == step.expected);
                } else {
                    REQUIRE_FALSE(throttle.refuses(step.client, now));
                    throttle.begin(step.client, now);
                    CHECK(throttle.end(step.client, step.op == begin_failed, now) == step.expected);
                }
                CHECK(throttle.tracked() <= table.capacity);
            }
        }
    }
}

TEST_CASE("the login throttle's table stays its size under a flood of addresses") {
    LoginThrottle throttle(1024);
    LoginThrottle::Clock::time_point t0{};
    int refused = 0;
    for (int i = 0; i < 100'000; ++i) {
        std::string client = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
        auto now = t0 + std::chrono::milliseconds(i / 10);  // 10,000 addresses a second
        if (throttle.refuses(client, now)) {
            ++refused;
            continue;
        }
        throttle.begin(client, now);
        throttle.end(client, true, now);
    }
    CHECK(throttle.tracked() <= 1024);
    // 10 s of flood: the first 1,024 addresses fill the table for a minute, everyone else is refused.
    CHECK(refused == 100'000 - 1024);
    CHECK(throttle.refused_globally() == static_cast<std::uint64_t>(refused));
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
