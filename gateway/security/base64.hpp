#pragma once
// Base64 (RFC 4648, standard alphabet, padded): HTTP Basic credentials and the salt and digest of a
// password hash.

#include <optional>
#include <string>
#include <string_view>

namespace loopgate {

std::string base64_encode(std::string_view bytes);
// Empty optional for anything but canonical padded base64 (wrong length, a stray character, bits set
// in the padding): remote input gets no lenient reading.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace loopgate
