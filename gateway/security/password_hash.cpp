#include "gateway/security/password_hash.hpp"

#include <charconv>
#include <optional>
#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gateway/security/base64.hpp"
#include "gateway/security/secret_file.hpp"

namespace loopgate {

namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";
constexpr std::size_t salt_bytes = 16;
constexpr std::size_t digest_bytes = 32;
// Bounds on what a config may ask for: below, the hash is too cheap to crack; above, one login
// check would hold the status page's login worker (gateway/ops/password_worker.hpp) for seconds.
constexpr unsigned min_iterations = 10'000;
constexpr unsigned max_iterations = 10'000'000;

struct ParsedHash {
    unsigned iterations = 0;
    std::string salt;
    std::string digest;
};

std::optional<std::string> pbkdf2(std::string_view password, std::string_view salt, unsigned iterations) {
    std::string out(digest_bytes, '\0');
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                          static_cast<int>(iterations), EVP_sha256(), static_cast<int>(out.size()),
                          reinterpret_cast<unsigned char*>(out.data())) != 1)
        return std::nullopt;
    return out;
}

std::string parse(std::string_view hash, ParsedHash& out) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        std::size_t sep = hash.find('$', start);
        parts.push_back(hash.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start));
        if (sep == std::string_view::npos) break;
        start = sep + 1;
    }
    if (parts.size() != 4 || parts[0] != scheme)
        return "expected pbkdf2-sha256$ITERATIONS$SALT$DIGEST as `loopgate passwd` prints it";
    auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), out.iterations);
    if (ec != std::errc() || end != parts[1].data() + parts[1].size() || out.iterations < min_iterations ||
        out.iterations > max_iterations)
        return "iterations must be a number from 10000 to 10000000";
    auto salt = base64_decode(parts[2]);
    if (!salt || salt->size() < 8) return "the salt is not base64 of at least 8 bytes";
    auto digest = base64_decode(parts[3]);
    if (!digest || digest->size() != digest_bytes) return "the digest is not base64 of 32 bytes";
    out.salt = std::move(*salt);
    out.digest = std::move(*digest);
    return "";
}

}  // namespace

std::string hash_password(std::string_view password, unsigned iterations) {
    std::string salt(salt_bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1)
        throw std::runtime_error("OpenSSL could not make a random salt");
    auto digest = pbkdf2(password, salt, iterations);
    if (!digest) throw std::runtime_error("OpenSSL PBKDF2 failed");
    return std::string(scheme) + "$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" + base64_encode(*digest);
}

std::string password_hash_problem(std::string_view hash) {
    ParsedHash parsed;
    return parse(hash, parsed);
}

bool password_matches(std::string_view password, std::string_view hash) {
    ParsedHash parsed;
    if (!parse(hash, parsed).empty()) return false;
    auto digest = pbkdf2(password, parsed.salt, parsed.iterations);
    return digest && CRYPTO_memcmp(digest->data(), parsed.digest.data(), digest_bytes) == 0;
}

std::vector<NamedHash> read_password_file(const std::string& path) {
    std::vector<NamedHash> out;
    for_each_secret_line(path, "http: users file", [&](const std::string& line, int number) {
        auto colon = line.find(':');
        std::string where = path + ":" + std::to_string(number) + ": ";
        if (colon == 0 || colon == std::string::npos) throw std::runtime_error(where + "expected NAME:PASSWORD_HASH");
        NamedHash entry{line.substr(0, colon), line.substr(colon + 1)};
        if (std::string problem = password_hash_problem(entry.hash); !problem.empty())
            throw std::runtime_error(where + problem);
        out.push_back(std::move(entry));
    });
    if (out.empty()) throw std::runtime_error(path + ": no NAME:PASSWORD_HASH line");
    return out;
}

}  // namespace loopgate
