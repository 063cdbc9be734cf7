#include "gateway/bridge/uplink_port.hpp"

#include "gateway/uplink/uplink.hpp"

namespace loopgate {

bool UplinkAdapter::connected() const { return uplink_.connected(); }
std::uint64_t UplinkAdapter::connect_failures() const { return uplink_.connect_failures(); }
void UplinkAdapter::settle_acks() { uplink_.settle_acks(); }
void UplinkAdapter::set_acks_urgent(bool urgent) { uplink_.set_acks_urgent(urgent); }

void UplinkAdapter::with_lazy_acks(bool lazy, const std::function<void()>& publish) {
    Uplink::LazyAcks acks(uplink_, lazy);
    publish();
}

}  // namespace loopgate
