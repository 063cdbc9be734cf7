#include "gateway/ops/service_status.hpp"

namespace loopgate {

std::string service_status_text(const GatewayView& view) {
    std::size_t open = 0, total = 0;
    for (PortSlot& slot : view.ports) {
        ++total;
        if (slot.session->stats().open) ++open;
    }
    const std::uint64_t depth = view.store.stats().depth;
    return std::string("uplink ") + (view.uplink.connected() ? "connected" : "disconnected") + ", store holding " +
           std::to_string(depth) + (depth == 1 ? " batch" : " batches") + ", ports open " + std::to_string(open) +
           "/" + std::to_string(total);
}

}  // namespace loopgate
