#include "gateway/ops/http_server.hpp"

#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/log.hpp"
#include "gateway/ops/http_request_head.hpp"
#include "gateway/ops/login_guard.hpp"
#include "gateway/ops/password_worker.hpp"
#include "gateway/ops/status_page.hpp"
#include "gateway/security/secret_file.hpp"
#include "gateway/security/password_hash.hpp"

namespace loopgate {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

struct HttpServer::State {
    HttpRoutes routes;
    EventHub& events;
    std::optional<LoginGuard> guard;  // set when a login is required
    std::optional<ssl::context> tls;
    PasswordWorker* passwords = nullptr;  // the server's, while it runs
    std::size_t connections = 0;
    std::size_t event_streams = 0;
    std::unordered_map<std::string, std::size_t> connections_from{};  // per client address
    std::unordered_map<std::string, std::size_t> event_streams_from{};
    std::unordered_set<std::string> capped{};  // addresses refused a connection since they last had room (logged once)
    bool stopped = false;
};

namespace {

// A request's head must be complete this long after the connection opens (or the previous answer
// went out), however slowly it trickles in: a half-sent request holds its connection no longer.
constexpr auto request_head_timeout = std::chrono::seconds(5);
constexpr auto response_timeout = std::chrono::seconds(30);
constexpr std::size_t read_chunk = 4096;

std::size_t count(const std::unordered_map<std::string, std::size_t>& counts, const std::string& client) {
    auto it = counts.find(client);
    return it == counts.end() ? 0 : it->second;
}

void release(std::unordered_map<std::string, std::size_t>& counts, const std::string& client) {
    auto it = counts.find(client);
    if (it != counts.end() && --it->second == 0) counts.erase(it);
}

// Inline script and style are the page's own (no user input is ever parsed as HTML: the script sets
// textContent only); nothing may be fetched from elsewhere, and nothing may frame the page.
constexpr const char* page_policy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

tcp::endpoint parse_endpoint(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("http: expected host:port, got '" + listen + "'");
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(listen.substr(0, colon), ec);
    if (ec) throw std::runtime_error("http: '" + listen.substr(0, colon) + "' is not an IP address");
    return {address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
}

template <class Stream>
class Session : public EventSubscriber, public std::enable_shared_from_this<Session<Stream>> {
public:
    Session(Stream stream, std::shared_ptr<HttpServer::State> state, std::string client)
        : stream_(std::move(stream)), state_(std::move(state)), client_(std::move(client)) {
        ++state_->connections;
        ++state_->connections_from[client_];
    }
    ~Session() override {
        --state_->connections;
        release(state_->connections_from, client_);
        state_->capped.erase(client_);
        if (streaming_) {
            --state_->event_streams;
            release(state_->event_streams_from, client_);
        }
    }

    void start() {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            read_request();
        } else {
            beast::get_lowest_layer(stream_).expires_after(request_head_timeout);
            stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                if (!ec) self->read_request();
            });
        }
    }

    bool deliver(const EventFrame& frame) override {
        if (closed_) return false;
        if (queued_bytes_ + frame->size() > HttpServer::event_queue_bytes) {
            log::warning("http: event stream to ", client_, " dropped: it fell ", queued_bytes_, " bytes behind");
            close();
            return false;
        }
        queued_bytes_ += frame->size();
        queue_.push_back(frame);
        if (!writing_) write_next();
        return true;
    }

private:
    void read_request() {
        // One deadline for the whole head, not one per read: trickling a byte at a time does not renew it.
        beast::get_lowest_layer(stream_).expires_after(request_head_timeout);
        parse_received();
    }

    void parse_received() {
        auto received = buffer_.data();
        RequestHeadParse parsed =
            parse_request_head(std::string_view(static_cast<const char*>(received.data()), received.size()));
        switch (parsed.status) {
            case RequestHeadStatus::incomplete: return read_more();
            // A malformed or oversized request gets an answer; a vanished or too slow client does not.
            case RequestHeadStatus::malformed: return respond_plain(http::status::bad_request, "bad request\n", false);
            case RequestHeadStatus::too_large:
                return respond_plain(http::status::request_header_fields_too_large, "request header too large\n", false);
            case RequestHeadStatus::complete: break;
        }
        buffer_.consume(parsed.head.bytes);
        request_ = std::move(parsed.head);
        route();
    }

    void read_more() {
        stream_.async_read_some(buffer_.prepare(read_chunk), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
            if (ec) return self->close();
            self->buffer_.commit(n);
            self->parse_received();
        });
    }

    void route() {
        if (state_->stopped) return close();
        if (state_->guard) {
            PasswordCheck check;
            switch (state_->guard->begin(client_, request_.authorization, check)) {
                case LoginVerdict::allowed: break;
                case LoginVerdict::denied: return refuse_login();
                case LoginVerdict::throttled: return refuse_throttled();
                case LoginVerdict::check_password: return check_password(std::move(check));
            }
        }
        serve();
    }

    // PBKDF2 runs on the server's worker thread; the event loop carries on with the readings and
    // picks the verdict up when it is posted back.
    void check_password(PasswordCheck check) {
        auto pending = std::make_shared<const PasswordCheck>(std::move(check));
        bool queued = state_->passwords &&
                      state_->passwords->submit([pending] { return password_matches(pending->password, pending->hash); },
                                                [self = this->shared_from_this(), pending](bool matched) {
                                                    self->password_checked(*pending, matched);
                                                });
        if (queued) return;
        state_->guard->abandon(client_);
        auto& r = prepare(http::status::service_unavailable, "text/plain; charset=utf-8",
                          "too many logins being checked; try again in a second\n", false);
        r.set(http::field::retry_after, "1");
        send();
    }

    void password_checked(const PasswordCheck& check, bool matched) {
        LoginVerdict verdict = state_->guard->finish(client_, check, matched);
        if (closed_ || state_->stopped) return close();
        if (verdict == LoginVerdict::allowed) return serve();
        refuse_login();
    }

    void refuse_login() {
        auto& r = prepare(http::status::unauthorized, "text/plain; charset=utf-8", "login required\n", request_.keep_alive);
        r.set(http::field::www_authenticate, "Basic realm=\"loopgate\", charset=\"UTF-8\"");
        send();
    }

    void refuse_throttled() {
        auto& r = prepare(http::status::too_many_requests, "text/plain; charset=utf-8",
                          "too many failed logins; try again in a minute\n", false);
        r.set(http::field::retry_after, "60");
        send();
    }

    void serve() {
        bool keep_alive = request_.keep_alive;
        if (!request_.get) {
            auto& r = prepare(http::status::method_not_allowed, "text/plain; charset=utf-8", "only GET\n", keep_alive);
            r.set(http::field::allow, "GET");
            return send();
        }
        const std::string& target = request_.path;
        if (target == "/metrics") {
            prepare(http::status::ok, "text/plain; version=0.0.4", state_->routes.metrics(), keep_alive);
        } else if (target == "/api/status") {
            prepare(http::status::ok, "application/json", state_->routes.status(), keep_alive);
        } else if (target == "/" || target == "/index.html") {
            auto& r = prepare(http::status::ok, "text/html; charset=utf-8", std::string(status_page_html()), keep_alive);
            r.set("Content-Security-Policy", page_policy);
        } else if (target == "/api/events") {
            return open_event_stream();
        } else {
            prepare(http::status::not_found, "text/plain; charset=utf-8",
                    "not found: the status page is at /, its data at /api/status, Prometheus at /metrics\n", keep_alive);
        }
        send();
    }

    http::response<http::string_body>& prepare(http::status status, const char* type, std::string body, bool keep_alive) {
        response_ = {};
        response_.version(11);
        response_.result(status);
        response_.keep_alive(keep_alive);
        response_.set(http::field::server, "loopgate");
        response_.set(http::field::content_type, type);
        response_.set(http::field::cache_control, "no-store");
        response_.set("X-Content-Type-Options", "nosniff");
        response_.body() = std::move(body);
        response_.prepare_payload();
        return response_;
    }

    void respond_plain(http::status status, const char* text, bool keep_alive) {
        prepare(status, "text/plain; charset=utf-8", text, keep_alive);
        send();
    }

    void send() {
        beast::get_lowest_layer(stream_).expires_after(response_timeout);
        http::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || !self->response_.keep_alive()) return self->close();
            self->read_request();
        });
    }

    void open_event_stream() {
        if (state_->event_streams >= HttpServer::max_event_streams ||
            count(state_->event_streams_from, client_) >= HttpServer::max_event_streams_per_address) {
            prepare(http::status::service_unavailable, "text/plain; charset=utf-8",
                    "too many status pages open; close one\n", false);
            return send();
        }
        ++state_->event_streams;
        ++state_->event_streams_from[client_];
        streaming_ = true;
        // The stream lives until the client goes or falls behind: no timeout, and a read kept pending
        // only to notice the client closing.
        beast::get_lowest_layer(stream_).expires_never();
        deliver(std::make_shared<const std::string>(
            "HTTP/1.1 200 OK\r\nServer: loopgate\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
            // A page that lost its stream reconnects after this many milliseconds.
            "retry: 2000\n\n"));
        stream_.async_read_some(boost::asio::buffer(discard_), [self = this->shared_from_this()](beast::error_code, std::size_t) {
            self->close();
        });
        state_->events.subscribe(this->shared_from_this());
    }

    void write_next() {
        writing_ = true;
        boost::asio::async_write(stream_, boost::asio::buffer(*queue_.front()),
                                 [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (self->closed_) return;
                                     self->queued_bytes_ -= self->queue_.front()->size();
                                     self->queue_.pop_front();
                                     if (ec) return self->close();
                                     if (self->queue_.empty()) self->writing_ = false;
                                     else self->write_next();
                                 });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        // A write in progress still reads its frame until it completes (aborted): keep that one alive.
        if (writing_ && !queue_.empty()) queue_.erase(queue_.begin() + 1, queue_.end());
        else queue_.clear();
        queued_bytes_ = 0;
        beast::error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(stream_).close();
    }

    Stream stream_;
    std::shared_ptr<HttpServer::State> state_;
    std::string client_;
    beast::flat_buffer buffer_;
    RequestHead request_;
    http::response<http::string_body> response_;
    std::deque<EventFrame> queue_;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool streaming_ = false;
    bool closed_ = false;
    char discard_[64];
};

bool is_loopback(const tcp::endpoint& endpoint) { return endpoint.address().is_loopback(); }

}  // namespace

HttpServer::HttpServer(boost::asio::io_context& io, const std::string& listen, const HttpConfig& http,
                       HttpRoutes routes, EventHub& events)
    : acceptor_(io), state_(std::make_shared<State>(State{std::move(routes), events, {}, {}})) {
    tcp::endpoint endpoint = parse_endpoint(listen);
    std::vector<HttpUser> users = http.users;
    if (!http.users_file.empty()) {
        std::string path = resolve_credential_path(http.users_file, "http: gateway.http.users_file");
        for (NamedHash& u : read_password_file(path)) users.push_back({std::move(u.name), std::move(u.hash)});
    }
    if (!users.empty() || !is_loopback(endpoint)) {
        state_->guard.emplace(std::move(users), http.login_addresses);
        passwords_ = std::make_unique<PasswordWorker>(io);
        state_->passwords = passwords_.get();
    }
    if (!http.cert_file.empty()) {
        ssl::context& ctx = state_->tls.emplace(ssl::context::tls_server);
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
        boost::system::error_code ec;
        ctx.use_certificate_chain_file(http.cert_file, ec);
        if (ec) throw std::runtime_error("http: cannot use gateway.http.cert_file " + http.cert_file + ": " + ec.message());
        ctx.use_private_key_file(http.key_file, ssl::context::pem, ec);
        if (ec) throw std::runtime_error("http: cannot use gateway.http.key_file " + http.key_file + ": " + ec.message());
    }
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(16, ec);
    if (ec) throw std::runtime_error("http: cannot listen on " + listen + ": " + ec.message());
    std::string host = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]" : endpoint.address().to_string();
    url_ = std::string(state_->tls ? "https" : "http") + "://" + host + ":" + std::to_string(acceptor_.local_endpoint().port()) + "/";
    accept();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted || state_->stopped) return;
        if (!ec) {
            boost::system::error_code remote_ec;
            auto remote = socket.remote_endpoint(remote_ec);
            std::string client = remote_ec ? "unknown" : remote.address().to_string();
            // One address cannot take every connection: the others keep theirs to the page.
            if (state_->connections >= max_connections ||
                count(state_->connections_from, client) >= max_connections_per_address) {
                if (state_->connections < max_connections && state_->capped.insert(client).second)
                    log::warning("http: ", client, " holds ", max_connections_per_address,
                                 " connections; further ones from there are closed until one ends");
                boost::system::error_code ignored;
                socket.close(ignored);
            } else {
                if (state_->tls)
                    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                        beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *state_->tls), state_,
                        client)
                        ->start();
                else
                    std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), state_, client)->start();
            }
        }
        accept();
    });
}

void HttpServer::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    state_->passwords = nullptr;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

}  // namespace loopgate
