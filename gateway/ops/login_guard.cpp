#include "gateway/ops/login_guard.hpp"

#include <openssl/crypto.h>

#include "core/log.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/ops/basic_auth.hpp"
#include "gateway/security/sha256.hpp"

namespace loopgate {

LoginVerdict LoginGuard::begin(const std::string& client, std::string_view authorization, PasswordCheck& check,
                               Clock::time_point now) {
    if (throttle_.refuses(client, now)) {
        if (!globally_throttled_ && throttle_.full(now)) {
            globally_throttled_ = true;
            log::warning("http: logins from ", throttle_.tracked(),
                         " addresses within a minute fill the login throttle (gateway.http.login_addresses); logins "
                         "from any other address are refused until theirs expire");
        }
        return LoginVerdict::throttled;
    }
    if (globally_throttled_ && !throttle_.full(now)) {
        globally_throttled_ = false;
        log::info("http: logins from every address are checked again");
    }
    // A browser's first request carries no credentials; that is how it learns it needs some.
    if (authorization.empty()) return LoginVerdict::denied;
    auto credentials = parse_basic_authorization(authorization);
    const HttpUser* user = nullptr;
    if (credentials)
        for (const HttpUser& u : users_)
            if (u.name == credentials->user) user = &u;
    if (user) {
        auto known = remembered_.find(user->name);
        std::string digest = sha256(credentials->password);
        if (known != remembered_.end() && CRYPTO_memcmp(known->second.data(), digest.data(), digest.size()) == 0)
            return LoginVerdict::allowed;
    }
    throttle_.begin(client, now);
    check = {};
    if (!credentials) return finish(client, check, false, now);  // not Basic: a strike, no hash to pay for
    check.user = credentials->user;
    check.password = credentials->password;
    check.known_user = user != nullptr;
    // An unknown user costs as much as a known one, so timing does not tell which names exist.
    check.hash = user ? user->password_hash : users_.empty() ? "" : users_.front().password_hash;
    return LoginVerdict::check_password;
}

LoginVerdict LoginGuard::finish(const std::string& client, const PasswordCheck& check, bool matched,
                                Clock::time_point now) {
    bool allowed = matched && check.known_user;
    bool shut_out = throttle_.end(client, !allowed, now);
    if (allowed) {
        remembered_[check.user] = sha256(check.password);
        return LoginVerdict::allowed;
    }
    ++failures_;
    log::warning("http: bad credentials", check.user.empty() ? "" : " for user '" + untrusted_text(check.user) + "'",
                 " from ", client, shut_out ? "; further attempts from there are refused for a minute" : "");
    return LoginVerdict::denied;
}

void LoginGuard::abandon(const std::string& client, Clock::time_point now) { throttle_.end(client, false, now); }

}  // namespace loopgate
