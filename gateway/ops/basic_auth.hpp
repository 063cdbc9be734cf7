#pragma once
// The credentials of an HTTP "Authorization: Basic ..." header (RFC 7617): remote input, parsed by a
// pure function and fuzzed (fuzz/fuzz_basic_auth.cpp).

#include <optional>
#include <string>
#include <string_view>

namespace loopgate {

struct BasicCredentials {
    std::string user;
    std::string password;
};

// Empty optional unless the header is the Basic scheme with canonical base64 of "user:password"
// (the user non-empty, neither part holding control characters, the whole at most 1 KiB).
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

}  // namespace loopgate
