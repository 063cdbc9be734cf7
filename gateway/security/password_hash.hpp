#pragma once
// Password hashes for the status page's login (gateway.http.users): PBKDF2-HMAC-SHA256 from OpenSSL,
// written as "pbkdf2-sha256$<iterations>$<salt, base64>$<digest, base64>". Only the hash is in the
// config; `loopgate passwd` makes one.

#include <string>
#include <string_view>
#include <vector>

namespace loopgate {

// 100,000 iterations: about 50 ms on a Raspberry Pi 4 core per check; a login is checked once and then
// remembered (gateway/ops/login_guard.hpp), so the cost is paid per login, not per request, and on
// a worker thread of its own (gateway/ops/password_worker.hpp), never on the event loop.
constexpr unsigned kPasswordHashIterations = 100'000;

// A fresh random salt each call. Throws std::runtime_error when OpenSSL fails.
std::string hash_password(std::string_view password, unsigned iterations = kPasswordHashIterations);
// Empty when `hash` is well formed; otherwise what is wrong with it, for a config error.
std::string password_hash_problem(std::string_view hash);
// "name:hash" lines ('#' comments, blank lines allowed), as `loopgate passwd --user NAME --line`
// prints them: the users of gateway.http.users_file. Throws std::runtime_error naming file and line.
struct NamedHash {
    std::string name;
    std::string hash;
};
std::vector<NamedHash> read_password_file(const std::string& path);
// Recomputes the digest and compares it in constant time. False for a malformed hash.
bool password_matches(std::string_view password, std::string_view hash);

}  // namespace loopgate
