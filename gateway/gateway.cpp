#include "gateway/gateway.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <list>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#ifdef LOOPGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "core/log.hpp"
#include "drivers/registry.hpp"
#include "gateway/bridge/bridge.hpp"
#include "gateway/downlink/command_handler.hpp"
#include "gateway/downlink/dcmd_handler.hpp"
#include "gateway/downlink/device_router.hpp"
#include "gateway/ops/metrics_server.hpp"
#include "gateway/ops/status.hpp"
#include "gateway/serial/port_session.hpp"
#include "gateway/sparkplug/sparkplug_publisher.hpp"
#include "gateway/store/store.hpp"
#include "gateway/uplink/batch_publisher.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

namespace {

void notify(const char* state) {
#ifdef LOOPGATE_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

// systemd's watchdog: a ping from the event loop itself, so a stuck loop stops the pings and gets
// the service restarted.
void arm_watchdog(boost::asio::steady_timer& timer, std::chrono::microseconds interval) {
    timer.expires_after(interval / 2);
    timer.async_wait([&timer, interval](const boost::system::error_code& ec) {
        if (ec) return;
        notify("WATCHDOG=1");
        arm_watchdog(timer, interval);
    });
}

}  // namespace

int run_gateway(const Config& config) {
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

    std::map<std::string, bool> device_online;
    auto sink = [&bridge, &device_online](std::vector<Reading>& readings) {
        for (const Reading& r : readings)
            if (r.metric == "online" && std::holds_alternative<bool>(r.value)) device_online[r.device] = std::get<bool>(r.value);
        bridge.submit(readings);
    };
    std::list<PortSlot> ports;
    auto add_port = [&](const PortConfig& port) -> PortSlot& {
        PortSlot& slot = ports.emplace_back();
        slot.config = std::make_unique<PortConfig>(port);
        slot.session = std::make_unique<PortSession>(io, *slot.config,
                                                     make_driver(slot.config->driver, driver_spec(*slot.config)), sink);
        return slot;
    };
    for (const PortConfig& port : config.ports) add_port(port);

    GatewayView view{config, store, bridge, uplink, ports, device_online};
    std::unique_ptr<MetricsServer> metrics;
    if (config.metrics_listen != "off") {
        try {
            metrics = std::make_unique<MetricsServer>(io, config.metrics_listen, [&] { return prometheus_text(view); });
        } catch (const std::exception& e) {
            log::warning(e.what(), "; running without the metrics endpoint");
        }
    }
    uplink.status_source([&](const char* state) { return status_json(view, state); });
    uplink.on_connected([&] {
        publisher.on_connected();
        bridge.on_uplink_up();
    });
    bool paused = false;
    bridge.on_pause([&](bool pause) {
        paused = pause;
        for (auto& slot : ports) pause ? slot.session->stop() : slot.session->start();
    });

    // SIGHUP: re-read the file; ports whose text is unchanged keep running untouched, changed ones
    // restart, new ones start, removed ones stop. An invalid file changes nothing. Readings already
    // read are committed, so nothing is lost; uplink and store settings apply at the next restart.
    auto reload = [&] {
        Config next;
        try {
            next = load_config(config.file);
        } catch (const std::exception& e) {
            log::error("reload: ", e.what(), "; keeping the running configuration");
            return;
        }
        if (next.fingerprint != config.fingerprint)
            log::warning("reload: changes to the gateway, uplink or store sections take effect at the next restart");
        int kept = 0, restarted = 0, added = 0, removed = 0;
        std::list<PortSlot> retired;
        for (auto it = ports.begin(); it != ports.end();) {
            auto match = std::find_if(next.ports.begin(), next.ports.end(),
                                      [&](const PortConfig& p) { return p.name == it->config->name; });
            if (match != next.ports.end() && match->fingerprint == it->config->fingerprint) {
                ++kept;
                next.ports.erase(match);
                ++it;
                continue;
            }
            (match != next.ports.end() ? restarted : removed) += 1;
            it->session->stop();
            retired.splice(retired.end(), ports, it++);
        }
        for (const PortConfig& port : next.ports) {
            PortSlot& slot = add_port(port);
            if (!paused) slot.session->start();
        }
        added = static_cast<int>(next.ports.size()) - restarted;
        // Completions of the stopped ports' cancelled reads and timers are already queued; the
        // sessions are destroyed after them.
        boost::asio::post(io, [retired = std::make_shared<std::list<PortSlot>>(std::move(retired))] {});
        log::info("reload: ", kept, " ports unchanged, ", restarted, " restarted, ", added, " added, ", removed,
                  " removed");
    };

    // --- commands pushed down from the broker (gateway/downlink/command_handler.hpp; README "Security") ---
    DeviceRouter router(ports);
    CommandHandler commands(config, uplink, router);
    if (config.commands.enabled)
        uplink.subscribe(config.command_topic(), [&](const std::string&, const std::string& p) { commands.handle(p); });
    // --- end commands ---
    DcmdHandler dcmd(config, router);
    if (sparkplug) {
        sparkplug->on_device_command([&](const std::string& device, const SparkplugPublisher::Writes& writes) {
            dcmd.handle(device, writes);
        });
        sparkplug->on_resume([&] { bridge.on_uplink_up(); });
    }

    boost::asio::steady_timer status_timer(io);
    std::function<void()> refresh_status = [&] {
        status_timer.expires_after(std::chrono::milliseconds(config.uplink.status_interval_ms));
        status_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            uplink.publish_status("online");
            refresh_status();
        });
    };
    refresh_status();

    bool stopping = false;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void()> wait_signal;
    wait_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                if (!stopping) {
                    notify("RELOADING=1");
                    log::info("SIGHUP: reloading ", config.file);
                    reload();
                    notify("READY=1");
                }
                wait_signal();
                return;
            }
            if (stopping) return;
            stopping = true;
            log::info("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", "; stopping");
            notify("STOPPING=1");
            for (auto& slot : ports) slot.session->stop();
            status_timer.cancel();
            if (metrics) metrics->stop();
            bridge.shutdown([&] {
                if (sparkplug) sparkplug->publish_death();  // a clean disconnect sends no will
                uplink.stop();
                if (!store.commit()) log::error(store.last_error());
                log::info("stopped; ", store.stats().depth, " batches remain in the store for the next start");
                io.stop();
            });
        });
    };
    wait_signal();

    for (auto& slot : ports) slot.session->start();
    uplink.start();
    log::info("loopgate ", LOOPGATE_VERSION, " running: gateway ", config.gateway_id, ", ", ports.size(),
              " ports, store ", config.store.path, " holding ", store.stats().depth, " batches");
    notify("READY=1");

    boost::asio::steady_timer watchdog(io);
#ifdef LOOPGATE_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) arm_watchdog(watchdog, std::chrono::microseconds(usec));
#endif

    io.run();
    return 0;
}

}  // namespace loopgate
