// libFuzzer target: what the status page's server parses from a request beyond Beast's own: the
// Authorization header (gateway/ops/basic_auth.hpp) and base64, plus the password hash format the
// login is checked against. A decoded header must re-encode to what was sent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/ops/basic_auth.hpp"
#include "gateway/security/base64.hpp"
#include "gateway/security/password_hash.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (auto c = loopgate::parse_basic_authorization(input)) {
        if (c->user.empty() || c->user.find(':') != std::string::npos) std::abort();
    }
    if (auto decoded = loopgate::base64_decode(input)) {
        if (loopgate::base64_encode(*decoded) != input) std::abort();  // only canonical base64 is accepted
    }
    (void)loopgate::password_hash_problem(input);
    return 0;
}
