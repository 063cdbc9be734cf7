#pragma once
// The status document is retained, so a subscriber sees the last one published; republishing it every
// uplink.status_interval keeps its counters from going stale while the gateway runs.

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/uplink/uplink.hpp"

namespace loopgate {

class StatusRefresh {
public:
    StatusRefresh(boost::asio::io_context& io, Uplink& uplink, std::chrono::milliseconds interval);
    void start();
    void stop();

private:
    boost::asio::steady_timer timer_;
    Uplink& uplink_;
    std::chrono::milliseconds interval_;
};

}  // namespace loopgate
