#include "gateway/ops/status.hpp"

#include <cstdio>
#include <fstream>
#include <vector>

#include "core/clock.hpp"
#include "core/reading_json.hpp"
#include "gateway/bridge/clock_watch.hpp"
#include "gateway/ops/prometheus.hpp"
#include "gateway/serial/port_set.hpp"

namespace loopgate {

std::uint64_t process_bytes_written() {
    std::ifstream io("/proc/self/io");
    std::string key;
    std::uint64_t value = 0;
    while (io >> key >> value)
        if (key == "write_bytes:") return value;
    return 0;
}

NameCounts name_counts(const GatewayView& v) {
    NameCounts n;
    n.limit = name_limit(v.ports);
    for (PortSlot& slot : v.ports) {
        auto counters = slot.session->driver().counters();
        if (auto it = counters.find("metrics_over_limit"); it != counters.end()) n.over_limit += it->second;
    }
    if (v.live) n.values_untracked = v.live->untracked();
    n.presence_untracked = v.devices.untracked();
    n.report_untracked = v.report.untracked;
    if (v.sparkplug) n.sparkplug_over_limit = v.sparkplug->metrics_over_limit();
    return n;
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
           ",\"used_bytes\":" + std::to_string(s.used_bytes) + ",\"file_bytes\":" + std::to_string(s.file_bytes) +
           ",\"oldest_age_s\":" + (oldest ? std::to_string((now - *oldest) / 1'000'000'000) : std::string("null")) +
           ",\"dropped_batches\":" + std::to_string(s.dropped_batches) +
           ",\"dropped_readings\":" + std::to_string(s.dropped_readings) +
           ",\"commit_failures\":" + std::to_string(s.commit_failures) +
           ",\"sync_failures\":" + std::to_string(s.sync_failures) +
           ",\"read_failures\":" + std::to_string(s.read_failures) +
           ",\"pending_bytes\":" + std::to_string(s.pending_bytes) +
           ",\"damaged_parts\":" + std::to_string(s.damaged_parts) + ",\"recoveries\":" + std::to_string(s.recoveries) +
           ",\"id_mark_failures\":" + std::to_string(s.id_mark_failures) +
           ",\"unwritten_batches\":" + std::to_string(s.unwritten_batches) +
           ",\"bytes_written\":" + std::to_string(written) + ",\"bytes_written_per_reading\":" +
           (b.readings ? std::to_string(static_cast<double>(written) / static_cast<double>(b.readings)) : std::string("null"));
    if (!s.recovered_from.empty()) out += ",\"recovered_from\":\"" + json_escape(s.recovered_from) + "\"";
    out += "}";
    const ReportCounts& rc = v.report;
    out += ",\"report\":{\"passed\":" + std::to_string(rc.passed) + ",\"suppressed\":" + std::to_string(rc.suppressed) +
           ",\"throttled\":" + std::to_string(rc.throttled) + ",\"replaced\":" + std::to_string(rc.replaced) +
           ",\"heartbeats\":" + std::to_string(rc.heartbeats) + ",\"offline\":" + std::to_string(rc.offline) +
           ",\"untracked\":" + std::to_string(rc.untracked) + "}";
    const NameCounts names = name_counts(v);
    out += ",\"names\":{\"limit\":" + std::to_string(names.limit) + ",\"over_limit\":" + std::to_string(names.over_limit) +
           ",\"values_untracked\":" + std::to_string(names.values_untracked) +
           ",\"presence_untracked\":" + std::to_string(names.presence_untracked) +
           ",\"report_untracked\":" + std::to_string(names.report_untracked) +
           ",\"sparkplug_over_limit\":" + std::to_string(names.sparkplug_over_limit) + "}";
    out += ",\"uplink\":{\"connected\":" + std::string(v.uplink.connected() ? "true" : "false") +
           ",\"broker\":\"" + json_escape(v.uplink.broker_in_use()) + "\",\"failovers\":" +
           std::to_string(v.uplink.failovers()) + ",\"failbacks\":" + std::to_string(v.uplink.failbacks()) +
           ",\"last_failover_cause\":" +
           (v.uplink.last_failover_cause().empty() ? std::string("null")
                                                   : "\"" + json_escape(v.uplink.last_failover_cause()) + "\"") +
           ",\"client_id_conflict\":" + (v.uplink.client_id_conflict() ? "true" : "false") +
           ",\"reconnects\":" + std::to_string(v.uplink.reconnects()) +
           ",\"publish_failures\":" + std::to_string(b.publish_failures) + "}";
    if (const RemoteConfigAgent* rc = v.remote) {
        const RemoteConfigCounts& c = rc->counts();
        out += ",\"config\":{\"version\":" + std::to_string(rc->version()) + ",\"sha256\":\"" + rc->sha256() +
               "\",\"remote\":" + (rc->enabled() ? "true" : "false") + ",\"on_trial\":" +
               (rc->on_trial() ? "true" : "false") + ",\"accepted\":" + std::to_string(c.accepted) +
               ",\"refused\":" + std::to_string(c.refused) + ",\"applied\":" + std::to_string(c.applied) +
               ",\"rolled_back\":" + std::to_string(c.rolled_back);
        if (!rc->state_problem().empty()) out += ",\"state_problem\":\"" + json_escape(rc->state_problem()) + "\"";
        out += "}";
    }
    ClockState clock = clock_state();
    out += ",\"clock\":{\"source\":\"" + json_escape(clock.source) + "\",\"synchronized\":" +
           (clock.synchronized ? "true" : "false");
    if (!clock.problem.empty()) out += ",\"problem\":\"" + json_escape(clock.problem) + "\"";
    out += "}";
    const CommandCounters& c = v.commands;
    auto counts = [](const std::map<std::string, std::uint64_t>& m) {
        std::string o = "{";
        for (const auto& [name, value] : m) o += (o.size() > 1 ? ",\"" : "\"") + name + "\":" + std::to_string(value);
        return o + "}";
    };
    out += ",\"commands\":{\"by_outcome\":" + counts(c.by_outcome) + ",\"refused\":" + counts(c.refused) +
           ",\"failed\":" + counts(c.failed) + "}";
    out += ",\"ports\":{";
    bool first = true;
    for (PortSlot& slot : v.ports) {
        PortSession& p = *slot.session;
        if (!first) out += ",";
        first = false;
        const PortStats& ps = p.stats();
        out += "\"" + json_escape(p.config().name) + "\":{\"open\":" + (ps.open ? "true" : "false") +
               ",\"bytes_read\":" + std::to_string(ps.bytes_read) + ",\"failures\":" + std::to_string(ps.failures);
        if (p.config().endpoint) {
            out += ",\"transport\":\"" + std::string(ps.transport) + "\",\"silence_reconnects\":" +
                   std::to_string(ps.silence_reconnects);
            if (!ps.last_error.empty()) out += ",\"last_error\":\"" + json_escape(ps.last_error) + "\"";
            if (p.config().endpoint->scheme == "rfc2217") out += ",\"remote_port\":" + p.remote_port().json();
        }
        for (const auto& [name, value] : p.driver().counters()) out += ",\"" + json_escape(name) + "\":" + std::to_string(value);
        out += "}";
    }
    out += "}}";
    return out;
}

std::string prometheus_text(const GatewayView& v) {
    const StoreStats& s = v.store.stats();
    const BridgeStats& b = v.bridge.stats();
    const ClockState clock = clock_state();
    const NameCounts names = name_counts(v);
    auto n = [](auto count) { return static_cast<double>(count); };
    auto per_port = [&v](auto value_of) {
        return [&v, value_of] {
            std::vector<PrometheusSample> out;
            for (PortSlot& slot : v.ports) out.push_back({{{"port", slot.config->name}}, value_of(*slot.session)});
            return out;
        };
    };
    auto labelled = [](const char* label, const std::map<std::string, std::uint64_t>& counts) {
        std::vector<PrometheusSample> out;
        for (const auto& [value, count] : counts) out.push_back({{{label, value}}, static_cast<double>(count)});
        return out;
    };
    using enum PrometheusType;
    const std::vector<PrometheusMetric> table{
        {"loopgate_readings_total", counter, "Readings accepted from devices.", [&] { return n(b.readings); }},
        {"loopgate_batches_published_total", counter, "Batches acknowledged by the broker.",
         [&] { return n(b.batches_published); }},
        {"loopgate_batches_replayed_total", counter, "Batches published from the backlog after an outage.",
         [&] { return n(b.batches_replayed); }},
        {"loopgate_store_batches", gauge, "Batches in the store, not yet acknowledged.", [&] { return n(s.depth); }},
        {"loopgate_store_bytes", gauge, "Payload bytes in the store.", [&] { return n(s.bytes); }},
        {"loopgate_store_oldest_age_seconds", gauge, "Age of the oldest batch in the store.",
         [&] {
             auto oldest = v.store.oldest_created_ns();
             return oldest ? static_cast<double>(wall_now_ns() - *oldest) / 1e9 : 0.0;
         }},
        {"loopgate_dropped_readings_total", counter, "Readings dropped by store limits or a full memory queue.",
         [&] { return n(s.dropped_readings); }},
        {"loopgate_store_file_bytes", gauge, "The store's database and write-ahead log on disk.",
         [&] { return n(s.file_bytes); }},
        {"loopgate_store_used_bytes", gauge, "Database pages in use, what store.max_bytes limits.",
         [&] { return n(s.used_bytes); }},
        {"loopgate_store_damaged_parts_total", counter, "Stored parts that failed their checksum; never published.",
         [&] { return n(s.damaged_parts); }},
        {"loopgate_store_recoveries_total", counter, "Damaged stores or logs moved or copied aside at start.",
         [&] { return n(s.recoveries); }},
        {"loopgate_store_commit_failures_total", counter, "Failed store commits (disk full, I/O errors).",
         [&] { return n(s.commit_failures); }},
        {"loopgate_store_sync_failures_total", counter, "Failed fdatasync of the store's write-ahead log.",
         [&] { return n(s.sync_failures); }},
        {"loopgate_store_read_failures_total", counter,
         "Reads the disk failed while running; the batches wait, the store's figures keep their last values.",
         [&] { return n(s.read_failures); }},
        {"loopgate_store_unwritten_batches_total", counter,
         "Batches acknowledged while still in memory (store.durability: buffered, or while the disk refused writes), "
         "never written to disk.",
         [&] { return n(s.unwritten_batches); }},
        {"loopgate_report_suppressed_total", counter,
         "Readings the report stage dropped: inside their deadband or unchanged (README \"Report by exception\").",
         [&] { return n(v.report.suppressed); }},
        {"loopgate_report_throttled_total", counter, "Readings held back by a min_interval (the latest of them is sent).",
         [&] { return n(v.report.throttled); }},
        {"loopgate_report_heartbeats_total", counter, "Readings sent again after max_silence without a report.",
         [&] { return n(v.report.heartbeats); }},
        {"loopgate_report_offline_total", counter, "Devices declared offline after offline_after_silence without a frame.",
         [&] { return n(v.report.offline); }},
        {"loopgate_names_over_limit_total", counter,
         "Readings dropped at a port for a device/metric name beyond its max_metrics (README \"Names a device invents\").",
         [&] { return n(names.over_limit); }},
        {"loopgate_names_untracked_total", counter,
         "Readings of a name beyond the ports' name limit where state is kept: not shown (values), no presence "
         "(presence), passed unfiltered (report), left out of DDATA (sparkplug).",
         nullptr,
         [&] {
             return std::vector<PrometheusSample>{{{{"where", "values"}}, n(names.values_untracked)},
                                                  {{{"where", "presence"}}, n(names.presence_untracked)},
                                                  {{{"where", "report"}}, n(names.report_untracked)},
                                                  {{{"where", "sparkplug"}}, n(names.sparkplug_over_limit)}};
         }},
        {"loopgate_disk_bytes_written_total", counter, "Bytes the process wrote to storage.",
         [] { return static_cast<double>(process_bytes_written()); }},
        {"loopgate_uplink_connected", gauge, "1 while connected to the broker.",
         [&] { return v.uplink.connected() ? 1.0 : 0.0; }},
        {"loopgate_uplink_reconnects_total", counter, "Connections to the broker lost.",
         [&] { return n(v.uplink.reconnects()); }},
        {"loopgate_uplink_broker_in_use", gauge,
         "1 for the broker of uplink.brokers the uplink uses (or tries), 0 for the others; position 0 is the first.",
         nullptr,
         [&] {
             std::vector<PrometheusSample> out;
             const auto& brokers = v.config.uplink.brokers;
             for (std::size_t i = 0; i < brokers.size(); ++i)
                 out.push_back({{{"broker", brokers[i]}, {"position", std::to_string(i)}},
                                &brokers[i] == &v.uplink.broker_in_use() ? 1.0 : 0.0});
             return out;
         }},
        {"loopgate_uplink_failovers_total", counter,
         "Moves to another broker of uplink.brokers after a loss or a failed connect (failbacks not counted).",
         [&] { return n(v.uplink.failovers()); }},
        {"loopgate_uplink_failbacks_total", counter, "Moves back to the first broker after uplink.failback_after.",
         [&] { return n(v.uplink.failbacks()); }},
        {"loopgate_uplink_client_id_conflict", gauge,
         "1 while another client seems to use this uplink.client_id (the broker takes the session over).",
         [&] { return v.uplink.client_id_conflict() ? 1.0 : 0.0; }},
        {"loopgate_publish_failures_total", counter, "Publishes that failed and were sent again.",
         [&] { return n(b.publish_failures); }},
        {"loopgate_clock_synchronized", gauge,
         "1 once the wall clock is known to be synchronized (gateway.clock_sync); readings are flagged before.",
         [&] { return clock.synchronized ? 1.0 : 0.0; }},
        {"loopgate_clock_source_failed", gauge,
         "1 when the configured clock_sync source cannot be consulted (adjtimex denied by the sandbox).",
         [&] { return clock.problem.empty() ? 0.0 : 1.0; }},
        {"loopgate_port_open", gauge, "1 while the serial port is open.", nullptr,
         per_port([](PortSession& p) { return p.stats().open ? 1.0 : 0.0; })},
        {"loopgate_port_bytes_read_total", counter, "Bytes read from the serial port.", nullptr,
         per_port([](PortSession& p) { return static_cast<double>(p.stats().bytes_read); })},
        {"loopgate_port_failures_total", counter, "Failed opens and lost lines.", nullptr,
         per_port([](PortSession& p) { return static_cast<double>(p.stats().failures); })},
        {"loopgate_driver_events_total", counter,
         "The driver's own counters per port: frames good and bad, timeouts, overlong lines...", nullptr,
         [&] {
             std::vector<PrometheusSample> out;
             for (PortSlot& slot : v.ports)
                 for (const auto& [name, value] : slot.session->driver().counters())
                     out.push_back({{{"port", slot.config->name}, {"counter", name}}, static_cast<double>(value)});
             return out;
         }},
        {"loopgate_commands_total", counter,
         "Commands (native and Sparkplug DCMD) by outcome: ok, refused, failed, timeout.", nullptr,
         [&] { return labelled("outcome", v.commands.by_outcome); }},
        {"loopgate_commands_refused_total", counter, "Commands refused before reaching a device, by reason.", nullptr,
         [&] { return labelled("reason", v.commands.refused); }},
        {"loopgate_commands_failed_total", counter, "Commands that passed the checks but failed, by reason.", nullptr,
         [&] { return labelled("reason", v.commands.failed); }},
        {"loopgate_config_version", gauge,
         "The running configuration's version (0: the local file), labelled with its YAML's SHA-256.", nullptr,
         [&] {
             std::vector<PrometheusSample> out;
             if (v.remote) out.push_back({{{"sha256", v.remote->sha256()}}, n(v.remote->version())});
             return out;
         }},
        {"loopgate_config_state_unreadable", gauge,
         "1 while the remote configuration state file cannot be read: its replay mark is unknown, every update is "
         "refused and the local file runs.", nullptr,
         [&] {
             std::vector<PrometheusSample> out;
             if (v.remote && v.remote->enabled()) out.push_back({{}, v.remote->state_problem().empty() ? 0.0 : 1.0});
             return out;
         }},
        {"loopgate_config_updates_total", counter,
         "Remote configuration updates by outcome: accepted, refused, applied, rolled_back.", nullptr,
         [&] {
             std::vector<PrometheusSample> out;
             if (!v.remote) return out;
             const RemoteConfigCounts& c = v.remote->counts();
             for (const auto& [result, count] : {std::pair<const char*, std::uint64_t>{"accepted", c.accepted},
                                                 {"refused", c.refused}, {"applied", c.applied},
                                                 {"rolled_back", c.rolled_back}})
                 out.push_back({{{"result", result}}, n(count)});
             return out;
         }},
        {"loopgate_device_online", gauge, "1 while the device answers (drivers that poll).", nullptr,
         [&] {
             std::vector<PrometheusSample> out;
             for (const auto& [device, online] : v.devices.online()) out.push_back({{{"device", device}}, online ? 1.0 : 0.0});
             return out;
         }},
    };
    return render_prometheus(table);
}

}  // namespace loopgate
