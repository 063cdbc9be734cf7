#include "gateway/ops/login_guard.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/log.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/ops/basic_auth.hpp"
#include "gateway/security/password_hash.hpp"

namespace loopgate {

namespace {

std::string sha256(std::string_view s) {
    std::string out(SHA256_DIGEST_LENGTH, '\0');
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

}  // namespace

bool LoginGuard::verify(std::string_view user, std::string_view password) {
    for (const HttpUser& u : users_) {
        if (u.name != user) continue;
        std::string digest = sha256(password);
        auto known = remembered_.find(u.name);
        if (known != remembered_.end() && CRYPTO_memcmp(known->second.data(), digest.data(), digest.size()) == 0)
            return true;
        if (!password_matches(password, u.password_hash)) return false;
        remembered_[u.name] = digest;
        return true;
    }
    // An unknown user costs as much as a known one, so timing does not tell which names exist.
    (void)password_matches(password, users_.empty() ? "" : users_.front().password_hash);
    return false;
}

LoginVerdict LoginGuard::check(const std::string& client, std::string_view authorization,
                               std::chrono::steady_clock::time_point now) {
    auto it = strikes_.find(client);
    if (it != strikes_.end() && now - it->second.since >= window) {
        strikes_.erase(it);
        it = strikes_.end();
    }
    if (it != strikes_.end() && it->second.count >= failures_allowed) return LoginVerdict::throttled;
    // A browser's first request carries no credentials; that is how it learns it needs some.
    if (authorization.empty()) return LoginVerdict::denied;
    auto credentials = parse_basic_authorization(authorization);
    if (credentials && verify(credentials->user, credentials->password)) return LoginVerdict::allowed;

    ++failures_;
    if (strikes_.size() > 1024) strikes_.clear();  // a flood of addresses must not grow the map without end
    Strikes& s = strikes_[client];
    if (s.count == 0) s.since = now;
    ++s.count;
    log::warning("http: bad credentials", credentials ? " for user '" + untrusted_text(credentials->user) + "'" : "",
                 " from ", client,
                 s.count >= failures_allowed ? "; further attempts from there are refused for a minute" : "");
    return LoginVerdict::denied;
}

}  // namespace loopgate
