#include "gateway/security/sha256.hpp"

#include <fstream>
#include <memory>

#include <openssl/evp.h>

#include "core/hex.hpp"

namespace loopgate {

std::string sha256(std::string_view bytes) {
    std::string digest(32, '\0');
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(digest.data()), &length, EVP_sha256(), nullptr);
    return digest;
}

std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf, static_cast<std::size_t>(in.gcount()));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    return hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace loopgate
