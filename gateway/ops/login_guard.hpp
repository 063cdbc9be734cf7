#pragma once
// Who may read the status page when it is reachable off the box: a Basic login checked against
// gateway.http.users. Bad credentials are logged and, after a few, refused outright for a while from
// that address without being checked, so guessing is slow and costs the gateway nothing.
// A password that matched once is remembered by its SHA-256, so a page's later requests (each
// carries the header) do not pay for PBKDF2 again.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"

namespace loopgate {

enum class LoginVerdict { allowed, denied, throttled };

class LoginGuard {
public:
    static constexpr int failures_allowed = 5;
    static constexpr std::chrono::seconds window{60};

    explicit LoginGuard(std::vector<HttpUser> users) : users_(std::move(users)) {}

    // `authorization` is the request's Authorization header, empty when it had none.
    LoginVerdict check(const std::string& client, std::string_view authorization,
                       std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
    std::uint64_t failures() const { return failures_; }

private:
    struct Strikes {
        std::chrono::steady_clock::time_point since;
        int count = 0;
    };
    bool verify(std::string_view user, std::string_view password);

    std::vector<HttpUser> users_;
    std::map<std::string, std::string> remembered_;  // user -> SHA-256 of the password that matched
    std::map<std::string, Strikes> strikes_;          // client address -> recent failures
    std::uint64_t failures_ = 0;
};

}  // namespace loopgate
