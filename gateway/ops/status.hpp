#pragma once
// What the gateway reports about itself: the JSON status published (retained) on the status topic
// and the Prometheus text served on the metrics endpoint, both from the same snapshot.

#include <cstdint>
#include <list>
#include <string>

#include "gateway/bridge/bridge.hpp"
#include "gateway/config.hpp"
#include "gateway/downlink/command_path.hpp"
#include "gateway/fleet/remote_config.hpp"
#include "gateway/ops/device_presence.hpp"
#include "gateway/ops/live_values.hpp"
#include "gateway/report/report_filter.hpp"
#include "gateway/serial/port_session.hpp"
#include "gateway/sparkplug/sparkplug_node.hpp"
#include "gateway/store/store.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

struct GatewayView {
    const Config& config;
    Store& store;
    const Bridge& bridge;
    const Uplink& uplink;
    std::list<PortSlot>& ports;
    const DevicePresence& devices;
    const ReportCounts& report;
    const CommandCounters& commands;
    const RemoteConfigAgent* remote = nullptr;  // the running configuration's version and sha256
    // Where state is kept per device/metric name, each bounded by the ports' name limit (README
    // "Names a device invents"); null when absent (no Sparkplug).
    const LiveValues* live = nullptr;
    const sparkplug::EdgeNode* sparkplug = nullptr;
};

// What the bounded per-name state holds and left out, for the status document and the metrics.
struct NameCounts {
    std::size_t limit = 0;               // the ports' name limit (serial/port_set.hpp name_limit)
    std::uint64_t over_limit = 0;        // readings the ports' guards dropped (drivers' metrics_over_limit)
    std::uint64_t values_untracked = 0;  // not shown on the status page (LiveValues)
    std::uint64_t presence_untracked = 0;
    std::uint64_t report_untracked = 0;  // passed unfiltered by the report stage
    std::uint64_t sparkplug_over_limit = 0;
};
NameCounts name_counts(const GatewayView& view);

std::string status_json(const GatewayView& view, const char* state);
std::string prometheus_text(const GatewayView& view);

// Bytes this process has written to storage (/proc/self/io write_bytes); 0 when unavailable.
std::uint64_t process_bytes_written();

}  // namespace loopgate
