#include "gateway/ops/metrics_server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.hpp"

namespace loopgate {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// One request per connection is all a scraper needs; the connection closes after the answer.
struct Exchange : std::enable_shared_from_this<Exchange> {
    Exchange(tcp::socket socket, const std::function<std::string()>& render)
        : socket(std::move(socket)), render(render) {}

    void start() {
        http::async_read(socket, buffer, request, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
            if (!ec) self->answer();
        });
    }

    void answer() {
        response.version(request.version());
        response.keep_alive(false);
        if (request.method() != http::verb::get) {
            response.result(http::status::method_not_allowed);
            response.body() = "only GET\n";
        } else if (request.target() == "/metrics") {
            response.result(http::status::ok);
            response.set(http::field::content_type, "text/plain; version=0.0.4");
            response.body() = render();
        } else {
            response.result(http::status::not_found);
            response.body() = "see /metrics\n";
        }
        response.prepare_payload();
        http::async_write(socket, response, [self = shared_from_this()](boost::beast::error_code, std::size_t) {
            boost::beast::error_code ignored;
            self->socket.shutdown(tcp::socket::shutdown_both, ignored);
        });
    }

    tcp::socket socket;
    const std::function<std::string()>& render;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
};

tcp::endpoint parse_endpoint(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("metrics: expected host:port, got '" + listen + "'");
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(listen.substr(0, colon), ec);
    if (ec) throw std::runtime_error("metrics: '" + listen.substr(0, colon) + "' is not an IP address");
    return {address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
}

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, const std::string& listen, std::function<std::string()> render)
    : acceptor_(io), render_(std::move(render)) {
    tcp::endpoint endpoint = parse_endpoint(listen);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(16, ec);
    if (ec) throw std::runtime_error("metrics: cannot listen on " + listen + ": " + ec.message());
    accept();
}

void MetricsServer::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted) return;
        if (!ec) std::make_shared<Exchange>(std::move(socket), render_)->start();
        accept();
    });
}

void MetricsServer::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

}  // namespace loopgate
