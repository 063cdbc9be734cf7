#include "gateway/security/ed25519.hpp"

#include <cstdio>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/hex.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/security/sha256.hpp"

namespace loopgate::ed25519 {

namespace {

EVP_PKEY* raw(const std::shared_ptr<void>& p) { return static_cast<EVP_PKEY*>(p.get()); }

std::shared_ptr<void> own(EVP_PKEY* p) { return std::shared_ptr<void>(p, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); }); }

std::shared_ptr<void> read_pem(const std::string& file, bool is_private) {
    std::FILE* f = std::fopen(file.c_str(), "r");
    if (!f) throw std::runtime_error("cannot read key file " + file);
    EVP_PKEY* k = is_private ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr)
                             : PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!k)
        throw std::runtime_error(file + ": not a PEM " + (is_private ? "private" : "public") + " key");
    auto key = own(k);
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) throw std::runtime_error(file + ": not an Ed25519 key");
    return key;
}

std::string pem_of(EVP_PKEY* k, bool is_private) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    int ok = is_private ? PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr)
                        : PEM_write_bio_PUBKEY(bio.get(), k);
    if (!ok) throw std::runtime_error("cannot encode the key as PEM");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

Key::Key(std::shared_ptr<void> pkey, bool has_private) : pkey_(std::move(pkey)), private_(has_private) {
    unsigned char pub[32];
    std::size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(raw(pkey_), pub, &len) != 1 || len != 32)
        throw std::runtime_error("cannot read the raw Ed25519 public key");
    id_ = hex(sha256(std::string_view(reinterpret_cast<const char*>(pub), len)).substr(0, 8));
}

Key Key::load_private(const std::string& pem_file) { return Key(read_pem(pem_file, true), true); }
Key Key::load_public(const std::string& pem_file) { return Key(read_pem(pem_file, false), false); }

Key Key::generate() {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!k) throw std::runtime_error("cannot generate an Ed25519 key");
    return Key(own(k), true);
}

std::string Key::sign(std::string_view message) const {
    if (!private_) throw std::runtime_error("signing needs a private key");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::string sig(64, '\0');
    std::size_t len = sig.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, raw(pkey_)) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
        throw std::runtime_error("Ed25519 signing failed");
    sig.resize(len);
    return sig;
}

bool Key::verify(std::string_view message, std::string_view signature) const {
    if (signature.size() != 64) return false;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, raw(pkey_)) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

std::string Key::private_pem() const {
    if (!private_) throw std::runtime_error("no private key");
    return pem_of(raw(pkey_), true);
}

std::string Key::public_pem() const { return pem_of(raw(pkey_), false); }

std::string check_signature(const std::vector<Key>& keys, std::string_view message, std::string_view signature,
                            const std::string& key_id) {
    bool known = false;
    for (const Key& k : keys) {
        if (!key_id.empty() && k.id() != key_id) continue;
        known = true;
        if (k.verify(message, signature)) return {};
    }
    if (!known) return "unknown key_id '" + untrusted_text(key_id) + "'";
    return "bad signature";
}

}  // namespace loopgate::ed25519
