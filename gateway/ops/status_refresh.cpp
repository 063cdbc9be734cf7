#include "gateway/ops/status_refresh.hpp"

namespace loopgate {

StatusRefresh::StatusRefresh(boost::asio::io_context& io, Uplink& uplink, std::chrono::milliseconds interval)
    : timer_(io), uplink_(uplink), interval_(interval) {}

void StatusRefresh::start() {
    timer_.expires_after(interval_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        uplink_.publish_status("online");
        start();
    });
}

void StatusRefresh::stop() { timer_.cancel(); }

}  // namespace loopgate
