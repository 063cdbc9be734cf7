#pragma once
// The status page's document (GET /api/status, and the "status" events of /api/events): everything
// the page shows, as JSON. Never a secret: no credentials, no key, no password hash.

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/ops/command_log.hpp"
#include "gateway/ops/live_values.hpp"
#include "gateway/ops/log_ring.hpp"
#include "gateway/ops/status.hpp"

namespace loopgate {

struct ConfigIdentity {
    std::string sha256;  // of the file as last (re)loaded, hex
    std::int64_t loaded_ns = 0;
};

struct DashboardView {
    const GatewayView& gateway;
    const LiveValues& live;
    const CommandLog& commands;
    const ConfigIdentity& config;
    std::int64_t started_ns;
};

// With `with_log`, the last log lines too (the events stream sends those apart, as they come).
std::string dashboard_json(const DashboardView& view, bool with_log);
std::string log_lines_json(const std::vector<LogLine>& lines);

}  // namespace loopgate
