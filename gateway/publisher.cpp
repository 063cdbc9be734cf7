#include "gateway/publisher.hpp"

#include "gateway/config.hpp"
#include "gateway/payload.hpp"
#include "gateway/uplink.hpp"

namespace loopgate {

NativePublisher::NativePublisher(Uplink& uplink, const Config& config)
    : uplink_(uplink), topic_(config.data_topic()) {}

void NativePublisher::publish(const StoredBatch& batch, bool historical, std::function<void(bool)> done) {
    uplink_.publish(topic_, historical ? mark_historical(batch.payload) : batch.payload, false, std::move(done));
}

}  // namespace loopgate
