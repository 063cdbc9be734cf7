#include "gateway/uplink/uplink.hpp"

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "gateway/uplink/credentials.hpp"
#include "gateway/uplink/tcp_nodelay.hpp"
#include "gateway/uplink/tls_host_check.hpp"
#include "gateway/uplink/tls_probe.hpp"
#include "gateway/uplink/topic_filter.hpp"

namespace loopgate {

namespace {

// How long the destructor waits for Paho to let go of the client (see ~Uplink).
constexpr std::chrono::seconds paho_teardown_limit{5};

// How long a failback waits for the broker it leaves to take the last messages and the DISCONNECT.
constexpr std::chrono::milliseconds leave_timeout{1000};
constexpr std::chrono::milliseconds leave_limit{3000};
constexpr std::chrono::milliseconds longest_probe{5000};

std::vector<BrokerAddress> parse_brokers(const std::vector<std::string>& uris) {
    std::vector<BrokerAddress> out;
    for (const std::string& uri : uris) {
        std::string problem;
        auto a = parse_broker_address(uri, problem);
        if (!a) throw std::runtime_error("uplink: " + problem);  // the config check refuses it first
        out.push_back(*a);
    }
    return out;
}

}  // namespace

// The one way from Paho's threads onto the executor. The Uplink's destructor cuts it (under the
// lock, so no post races the io_context's end) before it destroys the Paho client.
struct Uplink::Link {
    std::mutex mutex;
    boost::asio::io_context* io;
    Uplink* uplink;  // read and cleared on the executor only

    Link(boost::asio::io_context& context, Uplink& u) : io(&context), uplink(&u) {}

    template <typename F>
    static void post(const std::shared_ptr<Link>& link, F f) {
        std::lock_guard<std::mutex> lock(link->mutex);
        if (!link->io) return;
        boost::asio::post(*link->io, [link, f = std::move(f)] {
            if (link->uplink) f(*link->uplink);
        });
    }

    void cut() {
        std::lock_guard<std::mutex> lock(mutex);
        io = nullptr;
        uplink = nullptr;
    }
};

class Uplink::Callbacks final : public mqtt::callback {
public:
    explicit Callbacks(std::shared_ptr<Link> link) : link_(std::move(link)) {}
    void connection_lost(const std::string& cause) override {
        Link::post(link_, [cause](Uplink& u) { u.handle_lost(cause.empty() ? "connection lost" : cause); });
    }
    void message_arrived(mqtt::const_message_ptr msg) override {
        if (!msg) return;
        Link::post(link_, [topic = msg->get_topic(), payload = msg->to_string(), retained = msg->is_retained()](
                              Uplink& u) { u.handle_message(topic, payload, retained); });
    }
    void delivery_complete(mqtt::delivery_token_ptr) override {}

private:
    std::shared_ptr<Link> link_;
};

class Uplink::Listener final : public mqtt::iaction_listener {
public:
    enum class Kind { connect, publish, disconnect };
    Listener(std::shared_ptr<Link> link, std::shared_ptr<AckInbox> inbox, Kind kind)
        : link_(std::move(link)), inbox_(std::move(inbox)), kind_(kind) {}

    void on_success(const mqtt::token& tok) override { report(tok, true, {}); }
    void on_failure(const mqtt::token& tok) override {
        int rc = tok.get_return_code();
        std::string why = "error code " + std::to_string(rc) + " (" + mqtt::exception::error_str(rc) + ")";
        if (rc == 0) why = "connection refused or unreachable";
        report(tok, false, why);
    }

private:
    void report(const mqtt::token& tok, bool ok, std::string why) {
        if (kind_ == Kind::disconnect) {
            Link::post(link_, [](Uplink& u) { u.handle_left(); });
        } else if (kind_ == Kind::connect) {
            Link::post(link_, [ok, why](Uplink& u) {
                if (ok) u.handle_connected();
                else u.handle_connect_failed(why);
            });
        } else {
            // The context is the publish id shifted left, its low bit set when the ack may wait.
            auto context = reinterpret_cast<std::uintptr_t>(tok.get_user_context());
            if (inbox_->add(context >> 1, ok, (context & 1) != 0)) Link::post(link_, [](Uplink& u) { u.settle_acks(); });
        }
    }

    std::shared_ptr<Link> link_;
    std::shared_ptr<AckInbox> inbox_;
    Kind kind_;
};

Uplink::Uplink(boost::asio::io_context& io, const Config& config)
    : io_(io),
      config_(config),
      alive_(std::make_shared<std::atomic<bool>>(true)),
      link_(std::make_shared<Link>(io, *this)),
      brokers_(parse_brokers(config.uplink.brokers)),
      failover_(brokers_.size(), std::chrono::milliseconds(config.uplink.failback_after_ms)),
      probe_(io),
      reconnect_timer_(io),
      probe_timer_(io),
      leave_timer_(io),
      backoff_(config.uplink.reconnect_min_ms, config.uplink.reconnect_max_ms, true) {
    const UplinkConfig& u = config.uplink;
    callbacks_ = std::make_unique<Callbacks>(link_);
    connect_listener_ = std::make_unique<Listener>(link_, inbox_, Listener::Kind::connect);
    publish_listener_ = std::make_unique<Listener>(link_, inbox_, Listener::Kind::publish);
    disconnect_listener_ = std::make_unique<Listener>(link_, inbox_, Listener::Kind::disconnect);
    renew_client();

    // Clean sessions on purpose: the store is the session. Unacknowledged batches are published again
    // from the store, in order, after every reconnect; a broker-side session would have Paho re-send
    // its own copies as well, racing ours and reordering a device's readings.
    if (u.mqtt_version == 5) {
        options_.set_mqtt_version(MQTTVERSION_5);
        options_.set_clean_start(true);
    } else {
        options_.set_mqtt_version(MQTTVERSION_3_1_1);
        options_.set_clean_session(true);
    }
    options_.set_keep_alive_interval(u.keepalive_s);
    options_.set_connect_timeout(10);
    options_.set_automatic_reconnect(false);  // we own the backoff, so every state change is ours to log
    options_.set_will(mqtt::will_options(config.status_topic(), status_payload("offline"), 1, true));
    if (!u.credentials_file.empty()) {
        Credentials c = read_credentials(u.credentials_file);
        options_.set_user_name(c.username);
        options_.set_password(c.password);
    }
    if (u.tls.enabled) {
        if (std::string problem = san_only_host_check_problem(); !problem.empty())
            throw std::runtime_error("uplink: TLS: " + problem);
        mqtt::ssl_options ssl;
        if (!u.tls.ca_file.empty()) ssl.set_trust_store(u.tls.ca_file);
        if (!u.tls.cert_file.empty()) ssl.set_key_store(u.tls.cert_file);
        if (!u.tls.key_file.empty()) ssl.set_private_key(u.tls.key_file);
        ssl.set_ssl_version(MQTT_SSL_VERSION_TLS_1_2);
        ssl.set_enable_server_cert_auth(!u.tls.insecure);
        ssl.set_verify(!u.tls.insecure);
        options_.set_ssl(ssl);
    }
}

Uplink::~Uplink() {
    *alive_ = false;
    link_->cut();
    // Paho calls back with its lock held and forgets a client once MQTTAsync_destroy has taken it, so
    // after the client is destroyed nothing calls the callbacks or listeners. Destroying it waits for
    // that lock, though, and Paho holds it through a blocking DNS lookup of the broker (seconds per
    // nameserver): past a deadline the client and everything it calls are left to the process's
    // exit, never freed under it, so a stop stays within systemd's TimeoutStopSec.
    struct PahoSide {
        std::unique_ptr<Callbacks> callbacks;
        std::unique_ptr<Listener> connect_listener;
        std::unique_ptr<Listener> publish_listener;
        std::unique_ptr<Listener> disconnect_listener;
        std::unique_ptr<mqtt::async_client> client;
    };
    auto paho = std::make_shared<PahoSide>(PahoSide{std::move(callbacks_), std::move(connect_listener_),
                                                    std::move(publish_listener_), std::move(disconnect_listener_),
                                                    std::move(client_)});
    auto destroyed = std::make_shared<std::promise<void>>();
    std::future<void> done = destroyed->get_future();
    try {
        std::thread teardown([paho, destroyed] {
            paho->client.reset();
            destroyed->set_value();
        });
        if (done.wait_for(paho_teardown_limit) == std::future_status::ready) {
            teardown.join();
        } else {
            log::warning("uplink: the MQTT client is still busy after ",
                         std::chrono::duration_cast<std::chrono::seconds>(paho_teardown_limit).count(),
                         " s (a DNS lookup of the broker?); leaving it to the process's exit");
            teardown.detach();
        }
    } catch (const std::system_error&) {
        paho->client.reset();  // no thread to spare: wait for Paho as long as it takes
    }
}

std::string Uplink::status_payload(const char* state) const {
    return std::string("{\"state\":\"") + state + "\",\"gateway\":\"" + config_.gateway_id + "\",\"version\":\"" +
           LOOPGATE_VERSION + "\"}";
}

void Uplink::start() { connect(); }

void Uplink::connect() {
    if (stopping_ || connecting_ || connected_ || leaving_) return;
    if (brokers_[failover_.current()].uri() != client_uri_) renew_client();
    connecting_ = true;
    if (config_.uplink.tls.insecure) log::warning("uplink: TLS server verification is OFF (tls.insecure: true)");
    try {
        if (before_connect_) before_connect_();
        client_->connect(options_, nullptr, *connect_listener_);
    } catch (const mqtt::exception& e) {
        connecting_ = false;
        handle_connect_failed(e.what());
    }
}

void Uplink::schedule_reconnect() {
    if (stopping_) return;
    reconnect_timer_.expires_after(backoff_.next());
    reconnect_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (!ec && *alive) connect();
    });
}

void Uplink::handle_connected() {
    connecting_ = false;
    if (connected_) return;
    connected_ = true;
    connected_since_ns_ = wall_now_ns();
    backoff_.reset();
    logged_failures_.clear();
    log::info("uplink: connected to ", broker_in_use(), " as ", config_.uplink.client_id);
    if (auto move = failover_.connected(std::chrono::steady_clock::now())) {
        last_failover_ns_ = connected_since_ns_;
        const std::string& from = config_.uplink.brokers[move->from];
        if (move->failback)
            log::info("uplink: back on the first broker ", broker_in_use(), " (left ", from, ")");
        else
            log::warning("uplink: failed over from ", from, " to ", broker_in_use(), " (", move->cause,
                         "); failover ", failover_.failovers());
    }
    arm_probe();
    if (set_tcp_nodelay_on_connected_sockets() == 0)
        log::warning("uplink: could not set TCP_NODELAY on the broker connection; replies may wait up to 40 ms");

    for (const auto& [filter, handler] : subscriptions_) {
        try {
            client_->subscribe(filter, 1);
        } catch (const mqtt::exception& e) {
            log::warning("uplink: cannot subscribe to ", filter, ": ", e.what());
        }
    }
    publish_status("online");
    if (on_connected_) on_connected_();
}

void Uplink::publish_status(const char* state) {
    if (!connected_) return;
    try {
        std::string doc = status_source_ ? status_source_(state) : status_payload(state);
        client_->publish(mqtt::make_message(config_.status_topic(), doc, 1, true));
    } catch (const mqtt::exception& e) {
        log::warning("uplink: cannot publish status: ", e.what());
    }
}

void Uplink::subscribe(const std::string& filter, MessageHandler handler) {
    subscriptions_.emplace_back(filter, std::move(handler));
}

void Uplink::set_will(const std::string& topic, const std::string& payload, bool retained) {
    options_.set_will(mqtt::will_options(topic, payload, 1, retained));
}

void Uplink::handle_message(const std::string& topic, const std::string& payload, bool retained) {
    delivering_retained_ = retained;
    for (auto& [filter, handler] : subscriptions_)
        if (topic_matches(filter, topic)) handler(topic, payload);
    delivering_retained_ = false;
}

void Uplink::handle_connect_failed(const std::string& why) {
    connecting_ = false;
    ++connect_failures_;
    const std::string broker = broker_in_use();
    const BrokerAddress& address = brokers_[failover_.current()];
    last_error_ = "cannot connect: " + why;
    if (brokers_.size() > 1) last_error_ += " (" + broker + ")";
    if (logged_failures_.insert(failover_.current()).second) {
        const TlsConfig& tls = config_.uplink.tls;
        TlsProbe probe{address.host, address.port, tls.ca_file, tls.cert_file, tls.key_file, !tls.insecure, 3000};
        if (address.tls) {
            // Paho gives only a code for TLS failures; a handshake of our own, off the event loop,
            // finds the reason for the log line.
            std::int64_t max_ms = config_.uplink.reconnect_max_ms;
            std::thread([probe, why, broker, max_ms] {
                std::string reason = probe_tls(probe);
                log::warning("uplink: cannot connect to ", broker, ": ",
                             reason.empty() ? why : "TLS handshake failed: " + reason + " [Paho " + why + "]",
                             "; retrying with backoff up to ", max_ms, " ms");
            }).detach();
        } else {
            log::warning("uplink: cannot connect to ", broker, ": ", why,
                         brokers_.size() > 1 ? "; trying the next broker" : "; retrying",
                         " with backoff up to ", config_.uplink.reconnect_max_ms, " ms");
        }
    }
    failover_.connect_failed(broker + ": cannot connect: " + why);
    schedule_reconnect();
}

void Uplink::handle_lost(const std::string& why) {
    if (!connected_) return;
    connected_ = false;
    probe_timer_.cancel();
    probe_.cancel();
    // What the broker acknowledged before the loss is delivered, not sent again. (Disconnected
    // first: an acknowledgement's handler must not publish into the dying client.)
    settle_acks();
    ++reconnects_;
    const std::string broker = broker_in_use();
    bool taken_over = std::exchange(taken_over_, false);
    std::string cause = taken_over ? why + " (session taken over by another client)" : why;
    last_error_ = "lost: " + cause;
    if (brokers_.size() > 1) last_error_ += " (" + broker + ")";
    log::warning("uplink: lost connection to ", broker, ": ", cause,
                 brokers_.size() > 1 ? "; moving to the next broker" : "; reconnecting");
    if (failover_.lost(broker + ": " + cause, std::chrono::steady_clock::now(), taken_over)) {
        log::error("uplink: another client is ", taken_over ? "" : "probably ", "using client id '",
                   config_.uplink.client_id, "' on ", broker, ": ",
                   taken_over ? "the broker says it took the session over (MQTT 5 reason 0x8E)"
                              : "the broker closed " + std::to_string(BrokerFailover::short_sessions_for_conflict) +
                                    " connections in a row right after their connect",
                   "; two gateways with one id take turns and neither delivers for long. Give each its own "
                   "uplink.client_id (default loopgate-<gateway.id>)");
    }
    // Whatever was not acknowledged goes again from the store; late callbacks for these are ignored.
    fail_outstanding();
    renew_client();
    if (on_disconnected_) on_disconnected_();
    schedule_reconnect();
}

void Uplink::fail_outstanding() {
    auto lost = std::move(outstanding_);
    outstanding_.clear();
    for (auto& [id, handler] : lost)
        if (handler) handler(false);
}

bool Uplink::client_id_conflict() const { return failover_.client_id_conflict(std::chrono::steady_clock::now()); }

void Uplink::handle_server_disconnect(std::uint64_t generation, int reason) {
    if (generation != client_generation_ || !connected_) return;
    if (reason == mqtt::SESSION_TAKEN_OVER) taken_over_ = true;
    handle_lost("the broker sent DISCONNECT, reason " + std::to_string(reason) + " (" +
                mqtt::exception::reason_code_str(reason) + ")");
}

void Uplink::arm_probe() {
    if (!failover_.wants_probe()) return;
    probe_timer_.expires_after(failover_.probe_interval());
    probe_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive || !connected_) return;
        const BrokerAddress& first = brokers_.front();
        probe_.probe(first.host, first.port, std::min(failover_.probe_interval(), longest_probe),
                     [this](bool answers) { handle_probed(answers); });
    });
}

void Uplink::handle_probed(bool answers) {
    if (!connected_ || stopping_) return;
    failover_.probed(answers, std::chrono::steady_clock::now());
    if (failover_.failback_due(std::chrono::steady_clock::now())) leave_for_first_broker();
    else arm_probe();
}

void Uplink::leave_for_first_broker() {
    log::info("uplink: the first broker ", config_.uplink.brokers.front(), " has answered for ",
              failover_.failback_wait().count() / 1000.0, " s (uplink.failback_after); leaving ", broker_in_use(),
              " for it");
    settle_acks();
    if (before_leaving_) before_leaving_();
    publish_status("offline");
    connected_ = false;
    leaving_ = true;
    failover_.failing_back();
    // As after a loss: what the broker left has not acknowledged goes again, in order, on the next.
    fail_outstanding();
    if (on_disconnected_) on_disconnected_();
    try {
        client_->disconnect(static_cast<int>(leave_timeout.count()), nullptr, *disconnect_listener_);
    } catch (const mqtt::exception& e) {
        log::debug("uplink: disconnect refused: ", e.what());
    }
    leave_timer_.expires_after(leave_limit);
    leave_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (!ec && *alive) handle_left();
    });
}

void Uplink::handle_left() {
    if (!leaving_) return;
    leaving_ = false;
    leave_timer_.cancel();
    renew_client();
    connect();
}

void Uplink::renew_client() {
    // Also makes the client for another broker of the list. Paho keeps publishes that were queued but not yet written across a reconnect and sends them
    // first on the new connection, ahead of the older batches the bridge re-sends from the store:
    // a device's readings would arrive out of order. A fresh client starts with an empty queue.
    try {
        if (client_) client_->disable_callbacks();
    } catch (const mqtt::exception&) {
    }
    const UplinkConfig& u = config_.uplink;
    mqtt::create_options create(u.mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    client_uri_ = brokers_[failover_.current()].uri();
    // No Paho persistence: the store is the durable copy, and it outlives any Paho session.
    client_ = std::make_unique<mqtt::async_client>(client_uri_, u.client_id, create, nullptr);
    client_->set_callback(*callbacks_);
    std::uint64_t generation = ++client_generation_;
    client_->set_disconnected_handler([link = link_, generation](const mqtt::properties&, mqtt::ReasonCode reason) {
        Link::post(link, [generation, reason](Uplink& u) { u.handle_server_disconnect(generation, static_cast<int>(reason)); });
    });
}

void Uplink::publish(const std::string& topic, const std::string& payload, bool retained, AckHandler on_done) {
    std::uint64_t id = next_publish_id_++;
    outstanding_.emplace(id, std::move(on_done));
    try {
        auto msg = mqtt::make_message(topic, payload, config_.uplink.qos, retained);
        auto context = static_cast<std::uintptr_t>(id << 1 | (lazy_acks_ ? 1u : 0u));
        client_->publish(msg, reinterpret_cast<void*>(context), *publish_listener_);
    } catch (const mqtt::exception& e) {
        log::debug("uplink: publish refused: ", e.what());
        boost::asio::post(io_, [this, id, alive = alive_] {
            if (*alive) handle_publish_done(id, false);
        });
    }
}

void Uplink::settle_acks() {
    if (inbox_->empty()) return;
    for (const Ack& a : inbox_->take()) handle_publish_done(a.id, a.delivered);
}

void Uplink::handle_publish_done(std::uint64_t id, bool ok) {
    auto it = outstanding_.find(id);
    if (it == outstanding_.end()) return;  // already failed over after a reconnect
    AckHandler handler = std::move(it->second);
    outstanding_.erase(it);
    if (handler) handler(ok);
}

void Uplink::stop() {
    settle_acks();
    stopping_ = true;
    reconnect_timer_.cancel();
    probe_timer_.cancel();
    leave_timer_.cancel();
    probe_.cancel();
    // Our own state, not client_->is_connected(): that waits for Paho's lock, which a connect
    // attempt holds through the broker's DNS lookup.
    if (!connected_) return;
    try {
        std::string doc = status_source_ ? status_source_("offline") : status_payload("offline");
        auto tok = client_->publish(mqtt::make_message(config_.status_topic(), doc, 1, true));
        tok->wait_for(std::chrono::seconds(2));
        client_->disconnect(std::chrono::milliseconds(1000))->wait_for(std::chrono::seconds(3));
        log::info("uplink: disconnected cleanly");
    } catch (const mqtt::exception& e) {
        log::warning("uplink: unclean disconnect: ", e.what());
    }
    connected_ = false;
}

}  // namespace loopgate
