#pragma once
// Signed batches: with `signing.key_file` set, each payload on <prefix>/<gateway>/data is a
// loopgate.v1.SignedBatch whose `batch` holds the exact bytes of the Batch as published (the
// historical flag included) and `signature` an Ed25519 signature over them. Works the same over
// MQTT 3.1.1 and 5 (no user properties needed).

#include <string>

#include "gateway/security/ed25519.hpp"

namespace loopgate {

class BatchSigner {
public:
    explicit BatchSigner(const std::string& key_file) : key_(ed25519::Key::load_private(key_file)) {}
    explicit BatchSigner(ed25519::Key key) : key_(std::move(key)) {}
    // The SignedBatch around `batch`.
    std::string wrap(const std::string& batch) const;
    const std::string& key_id() const { return key_.id(); }

private:
    ed25519::Key key_;
};

// Checks a SignedBatch payload against `key`; on success `batch` holds the signed Batch bytes.
// Returns an empty string, or why not ("not a SignedBatch", "BAD SIGNATURE", "signed by key ...").
std::string verify_signed_batch(const std::string& payload, const ed25519::Key& key, std::string& batch);

}  // namespace loopgate
