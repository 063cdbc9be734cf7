#include "gateway/serial/tcp_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace loopgate {

namespace {

// Keepalive probes after 10 s without traffic, every 5 s, 3 unanswered: a vanished peer is noticed
// in about 25 s. Unacknowledged data gives up after 30 s (TCP_USER_TIMEOUT) instead of the kernel's
// quarter of an hour of retransmissions.
constexpr int kKeepIdleS = 10;
constexpr int kKeepIntervalS = 5;
constexpr int kKeepCount = 3;
constexpr unsigned kUserTimeoutMs = 30'000;

}  // namespace

TcpStream::TcpStream(boost::asio::io_context& io, const PortConfig& config)
    : config_(config), resolver_(io), socket_(io), deadline_(io) {}

void TcpStream::open(Opened done) {
    close();
    const std::uint64_t attempt = ++attempt_;
    auto finish_once = std::make_shared<Opened>(std::move(done));
    const NetworkEndpoint& e = *config_.endpoint;
    deadline_.expires_after(std::chrono::milliseconds(config_.network.connect_timeout_ms));
    deadline_.async_wait([this, attempt, finish_once](const boost::system::error_code& ec) {
        if (ec || attempt != attempt_) return;
        finish(attempt, finish_once,
               "connecting to " + config_.endpoint->host_port() + " timed out after " +
                   std::to_string(config_.network.connect_timeout_ms) + " ms (host unreachable or packets dropped)");
    });
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(e.host, ec);
    if (!ec) {
        connect({{address, e.port}}, attempt, finish_once);
        return;
    }
    // A name: getaddrinfo runs on asio's resolver thread, so a slow DNS server holds up only this port.
    // Its completion can come after a stop() and the session's end: getaddrinfo cannot be
    // interrupted, and the handler is run once it returns, whatever became of the resolver.
    resolver_.async_resolve(e.host, std::to_string(e.port),
                            [this, life = std::weak_ptr<int>(life_), attempt, finish_once](
                                const boost::system::error_code& ec,
                                boost::asio::ip::tcp::resolver::results_type results) {
                                if (life.expired() || attempt != attempt_) return;
                                if (ec) {
                                    finish(attempt, finish_once,
                                           "cannot resolve " + config_.endpoint->host + ": " + ec.message());
                                    return;
                                }
                                std::vector<boost::asio::ip::tcp::endpoint> endpoints;
                                for (const auto& r : results) endpoints.push_back(r.endpoint());
                                connect(std::move(endpoints), attempt, finish_once);
                            });
}

void TcpStream::connect(std::vector<boost::asio::ip::tcp::endpoint> endpoints, std::uint64_t attempt, Finish done) {
    auto targets = std::make_shared<std::vector<boost::asio::ip::tcp::endpoint>>(std::move(endpoints));
    boost::asio::async_connect(socket_, *targets,
                               [this, attempt, done, targets](const boost::system::error_code& ec,
                                                              const boost::asio::ip::tcp::endpoint& peer) {
                                   if (attempt != attempt_) return;
                                   if (ec) {
                                       finish(attempt, done,
                                              "connecting to " + config_.endpoint->host_port() + ": " + ec.message());
                                       return;
                                   }
                                   peer_ = peer.address().to_string() + ":" + std::to_string(peer.port());
                                   if (peer.address().is_v6()) peer_ = "[" + peer.address().to_string() + "]:" +
                                                                       std::to_string(peer.port());
                                   tune_socket();
                                   connected_ = true;
                                   finish(attempt, done, {});
                               });
}

void TcpStream::finish(std::uint64_t attempt, const Finish& done, const std::string& error) {
    if (attempt != attempt_) return;
    ++attempt_;
    deadline_.cancel();
    if (!error.empty()) {
        boost::system::error_code ignored;
        resolver_.cancel();
        socket_.close(ignored);
        connected_ = false;
    }
    // On the event loop in every case, never inside open(): the caller's state is settled by then.
    (*done)(error);
}

void TcpStream::tune_socket() {
    boost::system::error_code ignored;
    socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    socket_.set_option(boost::asio::socket_base::keep_alive(true), ignored);
    int fd = socket_.native_handle();
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepIdleS, sizeof kKeepIdleS);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepIntervalS, sizeof kKeepIntervalS);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof kKeepCount);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &kUserTimeoutMs, sizeof kUserTimeoutMs);
}

void TcpStream::close() {
    ++attempt_;
    deadline_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    connected_ = false;
}

void TcpStream::read_some(std::uint8_t* into, std::size_t size, Done done) {
    socket_.async_read_some(boost::asio::buffer(into, size), std::move(done));
}

std::size_t TcpStream::read_ready(std::uint8_t* into, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        ssize_t n = ::recv(socket_.native_handle(), into + got, size - got, MSG_DONTWAIT);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;  // EAGAIN: drained for now; 0 or an error: the next read reports it
    }
    return got;
}

void TcpStream::write(std::vector<std::uint8_t> bytes, Done done) {
    auto frame = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
    boost::asio::async_write(socket_, boost::asio::buffer(*frame),
                             [frame, done = std::move(done)](const boost::system::error_code& ec, std::size_t n) {
                                 done(ec, n);
                             });
}

}  // namespace loopgate
