#pragma once
// Who may read the status page when it is reachable off the box: a Basic login checked against
// gateway.http.users. Bad credentials are logged and, after a few, refused outright for a while from
// that address without being checked (LoginThrottle), so guessing is slow and costs the gateway little.
// A password that matched once is remembered by its SHA-256, so a page's later requests (each
// carries the header) do not pay for PBKDF2 again.
//
// PBKDF2 itself is not run here: it takes some 50 ms, and the guard lives on the event loop that
// carries the readings. begin() says which password to check against which hash; the caller runs
// password_matches() elsewhere (HttpServer: a worker thread) and hands the answer to finish(), or
// calls abandon() when the check could not run.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/ops/login_throttle.hpp"

namespace loopgate {

enum class LoginVerdict { allowed, denied, throttled, check_password };

// One password to check: password_matches(password, hash).
struct PasswordCheck {
    std::string user;
    std::string password;
    std::string hash;
    bool known_user = false;  // an unknown user is checked against another user's hash (same cost), and fails
};

class LoginGuard {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr int failures_allowed = LoginThrottle::failures_allowed;
    static constexpr std::chrono::seconds window = LoginThrottle::window;

    LoginGuard(std::vector<HttpUser> users, std::size_t addresses)
        : users_(std::move(users)), throttle_(addresses) {}

    // `authorization` is the request's Authorization header, empty when it had none. check_password
    // fills `check`; the attempt then counts against `client` until finish() or abandon().
    LoginVerdict begin(const std::string& client, std::string_view authorization, PasswordCheck& check,
                       Clock::time_point now = Clock::now());
    // allowed or denied.
    LoginVerdict finish(const std::string& client, const PasswordCheck& check, bool matched,
                        Clock::time_point now = Clock::now());
    void abandon(const std::string& client, Clock::time_point now = Clock::now());

    std::uint64_t failures() const { return failures_; }
    const LoginThrottle& throttle() const { return throttle_; }

private:
    std::vector<HttpUser> users_;
    std::map<std::string, std::string> remembered_;  // user -> SHA-256 of the password that matched
    LoginThrottle throttle_;
    std::uint64_t failures_ = 0;
    bool globally_throttled_ = false;  // logged once per episode
};

}  // namespace loopgate
