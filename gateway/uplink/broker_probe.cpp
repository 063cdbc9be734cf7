#include "gateway/uplink/broker_probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace loopgate {

struct BrokerProbe::Attempt : std::enable_shared_from_this<Attempt> {
    boost::asio::ip::tcp::resolver resolver;
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    std::function<void(bool)> done;

    Attempt(boost::asio::io_context& io, std::function<void(bool)> d)
        : resolver(io), socket(io), timer(io), done(std::move(d)) {}

    void finish(bool answers) {
        if (!done) return;
        auto d = std::move(done);
        done = nullptr;
        stop();
        d(answers);
    }
    void stop() {
        boost::system::error_code ignored;
        resolver.cancel();
        timer.cancel();
        socket.close(ignored);
    }
};

void BrokerProbe::probe(const std::string& host, int port, std::chrono::milliseconds timeout,
                        std::function<void(bool)> done) {
    cancel();
    auto a = std::make_shared<Attempt>(io_, std::move(done));
    attempt_ = a;
    a->timer.expires_after(timeout);
    a->timer.async_wait([a](const boost::system::error_code& ec) {
        if (!ec) a->finish(false);
    });
    a->resolver.async_resolve(host, std::to_string(port), [a](const boost::system::error_code& ec,
                                                              boost::asio::ip::tcp::resolver::results_type results) {
        if (ec) return a->finish(false);
        boost::asio::async_connect(a->socket, results, [a](const boost::system::error_code& error, const auto&) {
            a->finish(!error);
        });
    });
}

void BrokerProbe::cancel() {
    if (!attempt_) return;
    attempt_->done = nullptr;
    attempt_->stop();
    attempt_.reset();
}

}  // namespace loopgate
