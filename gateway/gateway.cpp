#include "gateway/gateway.hpp"

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "core/log.hpp"
#include "gateway/bridge/bridge.hpp"
#include "gateway/downlink/command_handler.hpp"
#include "gateway/downlink/dcmd_handler.hpp"
#include "gateway/downlink/device_router.hpp"
#include "gateway/fleet/remote_config.hpp"
#include "gateway/ops/config_reload.hpp"
#include "gateway/ops/device_presence.hpp"
#include "gateway/ops/metrics_server.hpp"
#include "gateway/ops/status.hpp"
#include "gateway/ops/status_refresh.hpp"
#include "gateway/ops/systemd_notify.hpp"
#include "gateway/report/report_stage.hpp"
#include "gateway/serial/port_set.hpp"
#include "gateway/sparkplug/sparkplug_publisher.hpp"
#include "gateway/store/store.hpp"
#include "gateway/uplink/batch_publisher.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

int run_gateway(const Boot& boot) {
    const Config& config = boot.config;
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
    Bridge bridge(io, config, store, uplink, publisher);
    store.sync_in_background([&io](std::function<void()> f) { boost::asio::post(io, std::move(f)); },
                             [&bridge] { bridge.pump(); });

    // --- the data path: ports -> (device presence) -> report by exception -> bridge -> store -> uplink ---
    DevicePresence devices;
    ReportStage report(io, [&bridge](std::vector<Reading>& readings) { bridge.submit(readings); });
    RemoteConfigAgent* remote_ptr = nullptr;  // built below, once the uplink and ports exist
    PortSet ports(io, [&devices, &report, &remote_ptr](std::vector<Reading>& readings) {
        devices.observe(readings);  // every reading a device sent, reported or not
        if (remote_ptr) remote_ptr->observe(readings);
        report.submit(readings);
    });
    for (const PortConfig& port : config.ports) ports.add(port);
    report.configure(ports.slots());
    // --- signed remote configuration (gateway/fleet/remote_config.hpp; README "Remote configuration") ---
    bool restart = false;
    std::function<void()> stop_gateway;  // the SIGTERM path, defined with the signals below
    RemoteConfigAgent remote(io, boot, uplink, ports.slots(), [&] {
        restart = true;
        boost::asio::post(io, [&] { stop_gateway(); });
    });
    remote_ptr = &remote;
    uplink.on_connected([&] {
        publisher.on_connected();
        bridge.on_uplink_up();
        remote.on_connected();
    });
    bridge.on_pause([&ports](bool pause) { pause ? ports.stop() : ports.start(); });

    // --- what the gateway reports about itself ---
    GatewayView view{config, store, bridge, uplink, ports.slots(), devices, report.counts(), &remote};
    std::unique_ptr<MetricsServer> metrics;
    if (config.metrics_listen != "off") {
        try {
            metrics = std::make_unique<MetricsServer>(io, config.metrics_listen, [&] { return prometheus_text(view); });
        } catch (const std::exception& e) {
            log::warning(e.what(), "; running without the metrics endpoint");
        }
    }
    uplink.status_source([&](const char* state) { return status_json(view, state); });
    StatusRefresh status_refresh(io, uplink, std::chrono::milliseconds(config.uplink.status_interval_ms));

    // --- commands pushed down from the broker (gateway/downlink/command_handler.hpp; README "Security") ---
    DeviceRouter router(ports.slots());
    CommandHandler commands(config, uplink, router);
    if (config.commands.enabled)
        uplink.subscribe(config.command_topic(), [&](const std::string&, const std::string& p) { commands.handle(p); });
    DcmdHandler dcmd(config, router);
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
                    report.configure(ports.slots());
                    notify_ready();
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
        ports.stop();
        report.stop();
        status_refresh.stop();
        if (metrics) metrics->stop();
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
    notify_ready();
    SystemdWatchdog watchdog(io);
    watchdog.start();

    io.run();
    return restart ? kRestartGateway : 0;
}

}  // namespace loopgate
