#include "gateway/ops/dashboard.hpp"

#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/clock.hpp"
#include "core/reading_json.hpp"
#include "gateway/bridge/clock_watch.hpp"

namespace loopgate {

namespace {

std::string json_text(const std::string& s) { return "\"" + json_escape(s) + "\""; }
std::string number(std::uint64_t n) { return std::to_string(n); }
std::string boolean(bool b) { return b ? "true" : "false"; }
std::string time_or_null(std::int64_t ns) { return ns ? std::to_string(ns) : "null"; }

const char* level_name(log::Level level) {
    switch (level) {
        case log::Level::error: return "error";
        case log::Level::warning: return "warning";
        case log::Level::info: return "info";
        case log::Level::debug: return "debug";
    }
    return "info";
}

// Free space where the store lives: what runs out first on a full box.
std::string free_disk_json(const std::string& store_path) {
    std::string dir = std::filesystem::path(store_path).parent_path().string();
    struct statvfs fs {};
    if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return "null";
    return number(static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize);
}

std::string header_json(const DashboardView& v, std::int64_t now) {
    const Config& c = v.gateway.config;
    ClockState clock = clock_state();
    std::string out = "{\"id\":" + json_text(c.gateway_id) + ",\"version\":\"" LOOPGATE_VERSION "\"" +
                      ",\"time_ns\":" + std::to_string(now) + ",\"started_ns\":" + std::to_string(v.started_ns) +
                      ",\"uptime_s\":" + std::to_string((now - v.started_ns) / 1'000'000'000) +
                      ",\"config_file\":" + json_text(c.file) + ",\"config_sha256\":" + json_text(v.config.sha256) +
                      ",\"config_loaded_ns\":" + time_or_null(v.config.loaded_ns) +
                      // 0: the local file; otherwise the signed remote version running (on trial until healthy)
                      ",\"config_version\":" + number(v.gateway.remote ? v.gateway.remote->version() : 0) +
                      ",\"config_on_trial\":" + boolean(v.gateway.remote && v.gateway.remote->on_trial()) +
                      // the remote config state file is unreadable: every update is refused (located error)
                      (v.gateway.remote && !v.gateway.remote->state_problem().empty()
                           ? ",\"config_state_problem\":" + json_text(v.gateway.remote->state_problem())
                           : std::string()) +
                      ",\"clock\":{\"source\":" + json_text(clock.source) +
                      ",\"synchronized\":" + boolean(clock.synchronized);
    if (!clock.problem.empty()) out += ",\"problem\":" + json_text(clock.problem);
    out += "},\"disk_free_bytes\":" + free_disk_json(c.store.path) + "}";
    return out;
}

std::string uplink_json(const DashboardView& v) {
    const Uplink& u = v.gateway.uplink;
    const Config& c = v.gateway.config;
    const TlsConfig& tls = c.uplink.tls;
    std::string brokers;
    for (const std::string& b : c.uplink.brokers) brokers += (brokers.empty() ? "" : ",") + json_text(b);
    std::string out = "{\"broker\":" + json_text(u.broker_in_use()) + ",\"brokers\":[" + brokers +
                      "],\"failovers\":" + number(u.failovers()) + ",\"failbacks\":" + number(u.failbacks()) +
                      ",\"last_failover_cause\":" +
                      (u.last_failover_cause().empty() ? "null" : json_text(u.last_failover_cause())) +
                      ",\"last_failover_ns\":" + (u.last_failover_ns() ? time_or_null(u.last_failover_ns()) : "null") +
                      ",\"client_id_conflict\":" + boolean(u.client_id_conflict()) +
                      ",\"client_id\":" + json_text(c.uplink.client_id) +
                      ",\"tls\":" + boolean(tls.enabled);
    if (tls.enabled)
        out += ",\"tls_verify\":" + boolean(!tls.insecure) + ",\"tls_ca_file\":" + json_text(tls.ca_file) +
               ",\"tls_client_cert\":" + boolean(!tls.cert_file.empty());
    out += ",\"connected\":" + boolean(u.connected()) +
           ",\"connected_since_ns\":" + (u.connected() ? time_or_null(u.connected_since_ns()) : "null") +
           ",\"reconnects\":" + number(u.reconnects()) + ",\"connect_failures\":" + number(u.connect_failures()) +
           ",\"in_flight\":" + number(v.gateway.bridge.in_flight()) +
           ",\"publish_failures\":" + number(v.gateway.bridge.stats().publish_failures) +
           ",\"batches_published\":" + number(v.gateway.bridge.stats().batches_published) +
           ",\"batches_replayed\":" + number(v.gateway.bridge.stats().batches_replayed) +
           ",\"readings\":" + number(v.gateway.bridge.stats().readings) +
           ",\"last_error\":" + (u.last_error().empty() ? "null" : json_text(u.last_error())) + "}";
    return out;
}

std::string store_json(const DashboardView& v, std::int64_t now) {
    Store& store = v.gateway.store;
    const StoreStats& s = store.stats();
    auto oldest = store.oldest_created_ns();
    return "{\"path\":" + json_text(v.gateway.config.store.path) +
           ",\"durability\":" + json_text(v.gateway.config.store.durability) + ",\"backlog_batches\":" + number(s.depth) +
           ",\"backlog_bytes\":" + number(s.bytes) + ",\"file_bytes\":" + number(s.file_bytes) +
           ",\"oldest_age_s\":" + (oldest ? std::to_string((now - *oldest) / 1'000'000'000) : "null") +
           ",\"dropped_batches\":" + number(s.dropped_batches) + ",\"dropped_readings\":" + number(s.dropped_readings) +
           ",\"bytes_written\":" + number(process_bytes_written()) + ",\"commit_failures\":" + number(s.commit_failures) +
           ",\"sync_failures\":" + number(s.sync_failures) + ",\"read_failures\":" + number(s.read_failures) +
           ",\"damaged_parts\":" + number(s.damaged_parts) + "}";
}

std::string ports_json(const DashboardView& v) {
    std::string out = "[";
    for (PortSlot& slot : v.gateway.ports) {
        PortSession& p = *slot.session;
        const PortStats& s = p.stats();
        if (out.size() > 1) out += ",";
        out += "{\"name\":" + json_text(p.config().name) + ",\"path\":" + json_text(p.config().path) +
               ",\"resolved\":" + (p.resolved_path().empty() ? "null" : json_text(p.resolved_path())) +
               ",\"driver\":" + json_text(p.config().driver.present() ? p.config().driver.as_string() : "") +
               ",\"baud\":" + number(p.config().baud) + ",\"open\":" + boolean(s.open) +
               ",\"bytes_read\":" + number(s.bytes_read) + ",\"bytes_written\":" + number(s.bytes_written) +
               ",\"opens\":" + number(s.opens) + ",\"failures\":" + number(s.failures) +
               ",\"last_error\":" + (s.last_error.empty() ? "null" : json_text(s.last_error)) +
               ",\"transport\":" + json_text(s.transport) + ",\"silence_reconnects\":" + number(s.silence_reconnects) +
               (p.config().endpoint && p.config().endpoint->scheme == "rfc2217" ? ",\"remote_port\":" + p.remote_port().json()
                                                                                : std::string()) +
               ",\"counters\":{";
        bool first = true;
        for (const auto& [name, value] : p.driver().counters()) {
            if (!first) out += ",";
            first = false;
            out += json_text(name) + ":" + number(value);
        }
        out += "}}";
    }
    return out + "]";
}

std::string devices_json(const DashboardView& v, std::int64_t now) {
    const auto& activity = v.live.devices();
    const auto& online = v.gateway.devices.online();
    std::set<std::string> names;
    for (const auto& [name, a] : activity) names.insert(name);
    for (const auto& [name, o] : online) names.insert(name);
    std::string out = "[";
    for (const std::string& name : names) {
        if (out.size() > 1) out += ",";
        out += "{\"name\":" + json_text(name);
        auto o = online.find(name);
        out += ",\"online\":" + (o == online.end() ? std::string("null") : boolean(o->second));
        auto a = activity.find(name);
        if (a != activity.end())
            out += ",\"readings\":" + number(a->second.readings) +
                   ",\"last_reading_age_ms\":" + std::to_string((now - a->second.last_reading_ns) / 1'000'000) +
                   ",\"readings_last_minute\":" + number(LiveValues::last_minute(a->second, now));
        out += "}";
    }
    return out + "]";
}

std::string values_json(const DashboardView& v) {
    std::string out = "[";
    for (const auto& [device, metrics] : v.live.latest())
        for (const auto& [metric, reading] : metrics) {
            if (out.size() > 1) out += ",";
            out += to_json_line(reading);
        }
    return out + "]";
}

std::string commands_json(const DashboardView& v) {
    std::string out = "{\"enabled\":" + boolean(v.gateway.config.commands.enabled) + ",\"recent\":[";
    bool first = true;
    for (const CommandLogEntry& c : v.commands.recent()) {
        if (!first) out += ",";
        first = false;
        out += "{\"time_ns\":" + std::to_string(c.time_ns) + ",\"id\":" + json_text(c.id) +
               ",\"status\":" + json_text(c.status) + ",\"detail\":" + json_text(c.detail) + "}";
    }
    return out + "]}";
}

}  // namespace

std::string log_lines_json(const std::vector<LogLine>& lines) {
    std::string out = "[";
    for (const LogLine& l : lines) {
        if (out.size() > 1) out += ",";
        out += "{\"n\":" + number(l.number) + ",\"time_ns\":" + std::to_string(l.time_ns) + ",\"level\":\"" +
               level_name(l.level) + "\",\"text\":" + json_text(l.text) + "}";
    }
    return out + "]";
}

std::string dashboard_json(const DashboardView& v, bool with_log) {
    std::int64_t now = wall_now_ns();
    std::string out = "{\"gateway\":" + header_json(v, now) + ",\"uplink\":" + uplink_json(v) +
                      ",\"store\":" + store_json(v, now) + ",\"ports\":" + ports_json(v) +
                      ",\"devices\":" + devices_json(v, now) + ",\"values\":" + values_json(v) +
                      ",\"commands\":" + commands_json(v);
    if (with_log) out += ",\"log\":" + log_lines_json(LogRing::process().since(0));
    return out + "}";
}

}  // namespace loopgate
