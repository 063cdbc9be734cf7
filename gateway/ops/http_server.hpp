#pragma once
// The gateway's own HTTP server (Boost.Beast, on the event loop), on gateway.metrics: the Prometheus
// text at /metrics, the status page at /, its document at /api/status and its live feed at
// /api/events (Server-Sent Events). Read-only: GET only. Off loopback every request needs a login
// (gateway.http.users); with gateway.http.cert_file and key_file it speaks HTTPS.
//
// Bounded everywhere a client could make it grow: 64 connections and 8 from one address, 8 event
// streams and 4 from one address, requests of 8 KiB of header and no body, 5 s to send a request's
// head (however slowly it trickles in), and an event stream's queue of 512 KiB (a page that does not
// read is dropped; the data path never waits for it). Logins are checked on a worker thread
// (PasswordWorker), never on the event loop.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/config.hpp"
#include "gateway/ops/event_hub.hpp"
#include "gateway/ops/password_worker.hpp"

namespace loopgate {

struct HttpRoutes {
    std::function<std::string()> metrics;  // Prometheus text exposition
    std::function<std::string()> status;   // the status page's document (JSON)
};

class HttpServer {
public:
    static constexpr std::size_t max_connections = 64;
    static constexpr std::size_t max_connections_per_address = 8;
    static constexpr std::size_t max_event_streams = 8;
    static constexpr std::size_t max_event_streams_per_address = 4;
    static constexpr std::size_t event_queue_bytes = 512 * 1024;

    // `listen` is "host:port". Throws std::runtime_error naming the address (or the certificate
    // file) when it cannot serve.
    HttpServer(boost::asio::io_context& io, const std::string& listen, const HttpConfig& http, HttpRoutes routes,
               EventHub& events);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void stop();
    // "http://127.0.0.1:9464/" as the log and the docs say it.
    const std::string& url() const { return url_; }

    struct State;

private:
    void accept();

    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<State> state_;
    std::string url_;
    std::unique_ptr<PasswordWorker> passwords_;  // last: joined first, while the state it answers to lives
};

}  // namespace loopgate
