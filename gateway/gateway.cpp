#include "gateway/gateway.hpp"

#include <csignal>
#include <cstdlib>
#include <list>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#ifdef LOOPGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "drivers/registry.hpp"
#include "gateway/bridge.hpp"
#include "gateway/log.hpp"
#include "gateway/port_session.hpp"
#include "gateway/publisher.hpp"
#include "gateway/status.hpp"
#include "gateway/store.hpp"
#include "gateway/uplink.hpp"

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
    Store store(config.store.path, StoreLimits{config.store.max_bytes, config.store.max_age_ms, 64u << 20});
    Uplink uplink(io, config);
    NativePublisher publisher(uplink, config);
    Bridge bridge(io, config, store, uplink, publisher);

    std::list<PortSession> sessions;
    for (const PortConfig& port : config.ports) {
        sessions.emplace_back(io, port, make_driver(port.driver, driver_spec(port)),
                              [&bridge](std::vector<Reading>& readings) { bridge.submit(readings); });
    }
    GatewayView view{config, store, bridge, uplink, sessions};
    uplink.status_source([&](const char* state) { return status_json(view, state); });
    uplink.on_connected([&] {
        publisher.on_connected();
        bridge.on_uplink_up();
    });
    bridge.on_pause([&](bool pause) {
        for (auto& s : sessions) pause ? s.stop() : s.start();
    });

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
                log::warning("SIGHUP: reloading the configuration is not supported yet; restart to apply changes");
                wait_signal();
                return;
            }
            if (stopping) return;
            stopping = true;
            log::info("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", "; stopping");
            notify("STOPPING=1");
            for (auto& s : sessions) s.stop();
            status_timer.cancel();
            bridge.shutdown([&] {
                uplink.stop();
                if (!store.commit()) log::error(store.last_error());
                log::info("stopped; ", store.stats().depth, " batches remain in the store for the next start");
                io.stop();
            });
        });
    };
    wait_signal();

    for (auto& s : sessions) s.start();
    uplink.start();
    log::info("loopgate ", LOOPGATE_VERSION, " running: gateway ", config.gateway_id, ", ", sessions.size(),
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
