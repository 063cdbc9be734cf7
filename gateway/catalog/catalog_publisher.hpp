#pragma once
// The shell around catalog_json: republishes the retained catalog on `<prefix>/<gateway>/catalog`
// (QoS 1) when its content changed, paced by CatalogPacer (at most once per 5 s, and on average
// at most 2 KiB/s of the uplink), and again at every connect (a broker or
// hub that lost its retained store gets it back). Native format only; Sparkplug has its births.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/reading.hpp"
#include "gateway/catalog/catalog_pacer.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

class CatalogPublisher {
public:
    // `build` renders the catalog as it is now (catalog_json over the running state).
    CatalogPublisher(boost::asio::io_context& io, Uplink& uplink, std::string topic, std::function<std::string()> build,
                     std::chrono::milliseconds min_interval = std::chrono::seconds(5));

    // Something the catalog shows may have changed (a reload, a remote configuration).
    void changed();
    // Every batch of readings the ports hand up: a device going online or offline, or a name seen
    // for the first time (`names_seen`: how many device/metric names the latest values hold now).
    void observe(const std::vector<Reading>& readings, std::size_t names_seen);
    // The uplink (re)connected: publish again whatever the content.
    void on_connected();
    void stop();

    std::uint64_t published() const { return published_; }

private:
    void schedule();
    void publish_now();

    boost::asio::steady_timer timer_;
    Uplink& uplink_;
    std::string topic_;
    std::function<std::string()> build_;
    CatalogPacer pacer_;
    std::string last_payload_;
    bool force_ = false;
    bool stopped_ = false;
    bool timer_set_ = false;
    std::size_t names_seen_ = 0;
    std::map<std::string, bool> online_;  // bounded like DevicePresence: one entry per device with a verdict
    std::uint64_t published_ = 0;
};

}  // namespace loopgate
