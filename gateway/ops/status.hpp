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
#include "gateway/report/report_filter.hpp"
#include "gateway/serial/port_session.hpp"
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
};

std::string status_json(const GatewayView& view, const char* state);
std::string prometheus_text(const GatewayView& view);

// Bytes this process has written to storage (/proc/self/io write_bytes); 0 when unavailable.
std::uint64_t process_bytes_written();

}  // namespace loopgate
