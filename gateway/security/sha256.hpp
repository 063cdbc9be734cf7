#pragma once
// SHA-256 (FIPS 180-4, OpenSSL's), the one copy. What it names: a configuration by the lowercase hex
// digest of its text (remote config replies, status, the Sparkplug metric Config/SHA256, the status
// page), an Ed25519 key by the first 8 bytes of the digest of its raw public key (ed25519.hpp), and the
// status page's login cache keys on the digest of a password rather than the password.

#include <string>
#include <string_view>

namespace loopgate {

// The 32-byte digest.
std::string sha256(std::string_view bytes);
// The digest as 64 lowercase hex digits (core/hex.hpp).
std::string sha256_hex(std::string_view bytes);
// sha256_hex of a file's contents, read in pieces; empty when the file cannot be opened.
std::string file_sha256(const std::string& path);

}  // namespace loopgate
