#pragma once
// A Prometheus text endpoint (GET /metrics), bound to localhost by default: the gateway's health for
// a scraper or `curl` on the box, from the same snapshot as the status document.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace loopgate {

class MetricsServer {
public:
    // `listen` is "host:port". Throws std::runtime_error naming the address when it cannot bind.
    MetricsServer(boost::asio::io_context& io, const std::string& listen, std::function<std::string()> render);
    void stop();

private:
    void accept();

    boost::asio::ip::tcp::acceptor acceptor_;
    std::function<std::string()> render_;
};

}  // namespace loopgate
