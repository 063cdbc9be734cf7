#include "gateway/status.hpp"

#include <fstream>

#include "gateway/reading_json.hpp"

namespace loopgate {

std::uint64_t process_bytes_written() {
    std::ifstream io("/proc/self/io");
    std::string key;
    std::uint64_t value = 0;
    while (io >> key >> value)
        if (key == "write_bytes:") return value;
    return 0;
}

std::string status_json(const GatewayView& v, const char* state) {
    const StoreStats& s = v.store.stats();
    const BridgeStats& b = v.bridge.stats();
    auto oldest = v.store.oldest_created_ns();
    std::int64_t now = wall_now_ns();
    std::uint64_t written = process_bytes_written();
    std::string out = std::string("{\"state\":\"") + state + "\",\"gateway\":\"" + json_escape(v.config.gateway_id) +
                      "\",\"version\":\"" LOOPGATE_VERSION "\",\"time_ns\":" + std::to_string(now);
    out += ",\"readings\":" + std::to_string(b.readings);
    out += ",\"batches_published\":" + std::to_string(b.batches_published);
    out += ",\"batches_replayed\":" + std::to_string(b.batches_replayed);
    out += ",\"store\":{\"depth\":" + std::to_string(s.depth) + ",\"bytes\":" + std::to_string(s.bytes) +
           ",\"oldest_age_s\":" + (oldest ? std::to_string((now - *oldest) / 1'000'000'000) : std::string("null")) +
           ",\"dropped_batches\":" + std::to_string(s.dropped_batches) +
           ",\"dropped_readings\":" + std::to_string(s.dropped_readings) +
           ",\"commit_failures\":" + std::to_string(s.commit_failures) +
           ",\"pending_bytes\":" + std::to_string(s.pending_bytes) +
           ",\"bytes_written\":" + std::to_string(written) + ",\"bytes_written_per_reading\":" +
           (b.readings ? std::to_string(static_cast<double>(written) / static_cast<double>(b.readings)) : std::string("null"));
    if (!s.recovered_from.empty()) out += ",\"recovered_from\":\"" + json_escape(s.recovered_from) + "\"";
    out += "}";
    out += ",\"uplink\":{\"connected\":" + std::string(v.uplink.connected() ? "true" : "false") +
           ",\"reconnects\":" + std::to_string(v.uplink.reconnects()) +
           ",\"publish_failures\":" + std::to_string(b.publish_failures) + "}";
    out += ",\"ports\":{";
    bool first = true;
    for (PortSession& p : v.ports) {
        if (!first) out += ",";
        first = false;
        const PortStats& ps = p.stats();
        out += "\"" + json_escape(p.config().name) + "\":{\"open\":" + (ps.open ? "true" : "false") +
               ",\"bytes_read\":" + std::to_string(ps.bytes_read) + ",\"failures\":" + std::to_string(ps.failures);
        for (const auto& [name, value] : p.driver().counters()) out += ",\"" + json_escape(name) + "\":" + std::to_string(value);
        out += "}";
    }
    out += "}}";
    return out;
}

}  // namespace loopgate
