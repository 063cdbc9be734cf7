#include "gateway/gateway.hpp"

#include <cctype>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "gateway/bridge/bridge.hpp"
#include "gateway/catalog/catalog_publisher.hpp"
#include "gateway/catalog/running_catalog.hpp"
#include "gateway/downlink/command_handler.hpp"
#include "gateway/downlink/command_path.hpp"
#include "gateway/downlink/dcmd_handler.hpp"
#include "gateway/downlink/device_router.hpp"
#include "gateway/fleet/remote_config.hpp"
#include "gateway/ops/config_reload.hpp"
#include "gateway/ops/command_log.hpp"
#include "gateway/ops/device_presence.hpp"
#include "gateway/ops/dashboard.hpp"
#include "gateway/ops/event_hub.hpp"
#include "gateway/ops/http_server.hpp"
#include "gateway/ops/live_values.hpp"
#include "gateway/ops/log_ring.hpp"
#include "gateway/ops/service_status.hpp"
#include "gateway/ops/status.hpp"
#include "gateway/ops/status_refresh.hpp"
#include "gateway/ops/systemd_notify.hpp"
#include "gateway/report/report_stage.hpp"
#include "gateway/security/sha256.hpp"
#include "gateway/serial/port_set.hpp"
#include "gateway/sparkplug/sparkplug_publisher.hpp"
#include "gateway/store/store.hpp"
#include "gateway/uplink/batch_publisher.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

int run_gateway(const Boot& boot) {
    const Config& config = boot.config;
    const std::int64_t started_ns = wall_now_ns();
    LogRing::install();
    ConfigIdentity config_identity{file_sha256(config.file), started_ns};
    boost::asio::io_context io;
    Store store(config.store.path, StoreLimits{config.store.max_bytes, config.store.max_age_ms, 64u << 20,
                                               config.store.when_full == "drop_oldest"});
    Uplink uplink(io, config);
    // uplink.format: the publisher outlives the bridge (README "Sparkplug B").
    std::unique_ptr<BatchPublisher> publisher_ptr;
    SparkplugPublisher* sparkplug = nullptr;
    if (config.uplink.format == "sparkplug") {
        auto p = std::make_unique<SparkplugPublisher>(io, uplink, config);
        sparkplug = p.get();
        publisher_ptr = std::move(p);
    } else {
        publisher_ptr = std::make_unique<NativePublisher>(uplink, config);
    }
    BatchPublisher& publisher = *publisher_ptr;
    UplinkAdapter uplink_port(uplink);
    Bridge bridge(io, config, store, uplink_port, publisher);
    store.sync_in_background([&io](std::function<void()> f) { boost::asio::post(io, std::move(f)); },
                             [&bridge] { bridge.pump(); });

    // --- the data path: ports -> (device presence) -> report by exception -> bridge -> store -> uplink ---
    DevicePresence devices;
    LiveValues live;
    // The status page's live feed; it renders nothing while no page is open (EventHub::active).
    std::function<std::string()> dashboard_events;
    EventHub events(io, [&] { return dashboard_events(); }, [](std::uint64_t& after) {
        auto lines = LogRing::process().since(after);
        if (!lines.empty()) after = lines.back().number;
        return log_lines_json(lines);
    });
    ReportStage report(io, [&bridge](std::vector<Reading>& readings) { bridge.submit(readings); });
    RemoteConfigAgent* remote_ptr = nullptr;  // built below, once the uplink and ports exist
    std::unique_ptr<CatalogPublisher> catalog;  // native format only (README "Catalog")
    bool logged_untracked = false;
    PortSet ports(io, [&devices, &live, &events, &report, &remote_ptr, &catalog, &logged_untracked](std::vector<Reading>& readings) {
        // Presence, the status page and the remote config's health gate see every reading a device
        // sent, reported or not.
        devices.observe(readings);
        live.observe(readings);
        if (catalog) catalog->observe(readings, live.size());
        if (!logged_untracked && (live.untracked() || devices.untracked() || report.counts().untracked)) {
            // The ports' guards keep names within the limit; this is what a reload's new names leave.
            logged_untracked = true;
            log::warning("more device/metric names than the ports' max_metrics add up to (", live.size(),
                         " kept): readings of new names are not shown on the status page nor filtered by the "
                         "report stage, and are counted (status: names)");
        }
        if (events.active()) events.publish_readings(readings);
        if (remote_ptr) remote_ptr->observe(readings);
        report.submit(readings);
    });
    for (const PortConfig& port : config.ports) ports.add(port);
    // Every map keyed by a name a device sent is bounded by what the ports' guards let through.
    auto bound_names = [&] {
        const std::size_t limit = ports.name_limit();
        live.set_limit(limit);
        devices.set_limit(limit);
        report.set_limit(limit);
        if (sparkplug) sparkplug->set_limit(limit);
    };
    bound_names();
    report.configure(ports.slots());
    // --- signed remote configuration (gateway/fleet/remote_config.hpp; README "Remote configuration") ---
    bool restart = false;
    std::function<void()> stop_gateway;  // the SIGTERM path, defined with the signals below
    RemoteConfigAgent remote(io, boot, uplink, ports.slots(), [&] {
        restart = true;
        boost::asio::post(io, [&] { stop_gateway(); });
    });
    remote_ptr = &remote;
    if (!sparkplug)
        catalog = std::make_unique<CatalogPublisher>(io, uplink, config.catalog_topic(), [&] {
            return running_catalog(config, ports.slots(), live, devices, remote.version(), config_identity.sha256);
        });
    uplink.on_connected([&] {
        publisher.on_connected();
        bridge.on_uplink_up();
        remote.on_connected();
        if (catalog) catalog->on_connected();
    });
    bridge.on_pause([&ports](bool pause) { pause ? ports.stop() : ports.start(); });

    // --- commands pushed down from the broker, native and DCMD: one path to the ports (README "Commands") ---
    DeviceRouter router(ports.slots());
    CommandPath command_path(config.commands, router);

    // --- what the gateway reports about itself ---
    GatewayView view{config, store, bridge, uplink, ports.slots(), devices, report.counts(), command_path.counters(), &remote,
                     &live, sparkplug ? &sparkplug->node() : nullptr};
    CommandLog command_log;
    command_path.on_audit([&command_log](const PendingCommand& c, const CommandOutcome& o) {
        std::string status = command_status_name(o.status);
        for (char& ch : status) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        command_log.record({wall_now_ns(), c.id, status, o.error});
    });
    DashboardView dashboard{view, live, command_log, config_identity, started_ns};
    dashboard_events = [&] { return dashboard_json(dashboard, false); };
    std::unique_ptr<HttpServer> http;
    if (config.metrics_listen != "off") {
        try {
            http = std::make_unique<HttpServer>(
                io, config.metrics_listen, config.http,
                HttpRoutes{[&] { return prometheus_text(view); }, [&] { return dashboard_json(dashboard, true); }}, events);
            log::info("status page and metrics at ", http->url(), config.http.users.empty() ? "" : " (login required)");
        } catch (const std::exception& e) {
            log::warning(e.what(), "; running without the status page and metrics endpoint");
        }
    }
    uplink.status_source([&](const char* state) { return status_json(view, state); });
    StatusRefresh status_refresh(io, uplink, std::chrono::milliseconds(config.uplink.status_interval_ms));

    CommandHandler commands(config, uplink, command_path);
    if (config.commands.enabled)
        uplink.subscribe(config.command_topic(), [&](const std::string&, const std::string& p) { commands.handle(p); });
    DcmdHandler dcmd(config, command_path);
    if (sparkplug) {
        sparkplug->on_device_command([&](const std::string& device, const SparkplugPublisher::Writes& writes) {
            dcmd.handle(device, writes);
        });
        sparkplug->on_resume([&] { bridge.on_uplink_up(); });
        sparkplug->set_node_metrics({{"Config/Version", static_cast<std::int64_t>(remote.version())},
                                     {"Config/SHA256", remote.sha256()}});
    }

    // --- signals: SIGHUP reloads the ports; SIGTERM/SIGINT drain the bridge into the store and stop ---
    bool stopping = false;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void()> wait_signal;
    wait_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                if (!stopping) {
                    notify_reloading();
                    log::info("SIGHUP: reloading ", config.file);
                    reload_ports(config, ports);
                    bound_names();
                    report.configure(ports.slots());
                    config_identity = {file_sha256(config.file), wall_now_ns()};
                    if (catalog) catalog->changed();
                    notify_ready(service_status_text(view));
                }
                wait_signal();
                return;
            }
            log::info("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", "; stopping");
            stop_gateway();
        });
    };
    stop_gateway = [&] {
        if (stopping) return;
        stopping = true;
        // A restart for a remote configuration update is, to systemd, a reload: STOPPING=1 would
        // have it treat the READY=1 of the next run as a protocol error.
        restart ? notify_reloading() : notify_stopping();
        remote.stop();
        command_path.stopping();  // writes the ports' close ends are FAILED "gateway stopping"
        ports.stop();
        report.stop();
        status_refresh.stop();
        if (catalog) catalog->stop();
        if (http) http->stop();
        events.stop();
        bridge.shutdown([&] {
            if (sparkplug) sparkplug->publish_death();  // a clean disconnect sends no will
            uplink.stop();
            if (!store.commit()) log::error(store.last_error());
            log::info("stopped; ", store.stats().depth, " batches remain in the store for the next start");
            io.stop();
        });
    };
    wait_signal();

    status_refresh.start();
    remote.start();
    ports.start();
    uplink.start();
    log::info("loopgate ", LOOPGATE_VERSION, " running: gateway ", config.gateway_id, ", ", ports.size(),
              " ports, store ", config.store.path, " holding ", store.stats().depth, " batches");
    notify_ready(service_status_text(view));
    SystemdWatchdog watchdog(io, [&] { return service_status_text(view); });
    watchdog.start();

    io.run();
    return restart ? kRestartGateway : 0;
}

}  // namespace loopgate
