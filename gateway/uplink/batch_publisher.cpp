#include "gateway/uplink/batch_publisher.hpp"

#include "gateway/config.hpp"
#include "gateway/security/batch_signer.hpp"
#include "gateway/store/batch_payload.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

NativePublisher::NativePublisher(Uplink& uplink, const Config& config)
    : uplink_(uplink), topic_(config.data_topic()) {
    if (!config.signing.key_file.empty()) signer_ = std::make_shared<BatchSigner>(config.signing.key_file);
}

void NativePublisher::publish(const StoredBatch& batch, bool historical, std::function<void(bool)> done) {
    std::string payload = historical ? mark_historical(batch.payload) : batch.payload;
    if (signer_) payload = signer_->wrap(payload);  // signs the exact bytes published
    uplink_.publish(topic_, payload, false, std::move(done));
}

}  // namespace loopgate
