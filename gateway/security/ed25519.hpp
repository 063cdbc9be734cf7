#pragma once
// Ed25519 keys, signatures and key ids (OpenSSL 3 EVP_PKEY_ED25519).
//
// Keys are PEM files: private keys PKCS#8 ("BEGIN PRIVATE KEY"), public keys SubjectPublicKeyInfo
// ("BEGIN PUBLIC KEY"), as `loopgate keygen` and `openssl genpkey -algorithm ed25519` write them.
// A key id is the first 8 bytes of SHA-256 over the raw 32-byte public key, in hex.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loopgate::ed25519 {

class Key {
public:
    // Throw std::runtime_error naming the file and what is wrong.
    static Key load_private(const std::string& pem_file);
    static Key load_public(const std::string& pem_file);
    static Key generate();

    bool has_private() const { return private_; }
    const std::string& id() const { return id_; }
    std::string sign(std::string_view message) const;  // 64 bytes; throws without a private key
    bool verify(std::string_view message, std::string_view signature) const;
    std::string private_pem() const;
    std::string public_pem() const;

private:
    Key(std::shared_ptr<void> pkey, bool has_private);
    std::shared_ptr<void> pkey_;  // EVP_PKEY
    bool private_ = false;
    std::string id_;
};

// Whether one of `keys` signed `message`: with a key id only the key of that id is tried, without one
// every key. "" when a key verifies; else "unknown key_id '...'" or "bad signature".
std::string check_signature(const std::vector<Key>& keys, std::string_view message, std::string_view signature,
                            const std::string& key_id);

}  // namespace loopgate::ed25519
