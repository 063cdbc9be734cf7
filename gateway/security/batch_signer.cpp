#include "gateway/security/batch_signer.hpp"

#include "loopgate.pb.h"

namespace loopgate {

std::string BatchSigner::wrap(const std::string& batch) const {
    v1::SignedBatch s;
    s.set_batch(batch);
    s.set_signature(key_.sign(batch));
    s.set_key_id(key_.id());
    std::string out;
    s.SerializeToString(&out);
    return out;
}

std::string verify_signed_batch(const std::string& payload, const ed25519::Key& key, std::string& batch) {
    v1::SignedBatch s;
    if (!s.ParseFromString(payload) || s.signature().empty()) return "not a loopgate.v1.SignedBatch";
    if (!s.key_id().empty() && s.key_id() != key.id())
        return "BAD SIGNATURE (signed by key " + s.key_id() + ", this key is " + key.id() + ")";
    if (!key.verify(s.batch(), s.signature())) return "BAD SIGNATURE";
    batch = s.batch();
    return {};
}

}  // namespace loopgate
