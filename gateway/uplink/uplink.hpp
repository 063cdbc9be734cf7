#pragma once
// The one upstream MQTT connection (Eclipse Paho C++ async client).
//
// Paho calls back on its own threads; every callback here only posts to the Asio executor (or, for
// an acknowledgement nobody waits for, queues it in the AckInbox), so all state lives on the event
// loop thread and needs no locks. The callbacks reach the executor through a Link that the
// destructor cuts first, and the objects Paho holds pointers to outlive the Paho client: a connect
// that fails while the gateway stops (a refused port, a lookup that gives up) calls back into
// nothing that is gone.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mqtt/async_client.h>

#include "core/backoff.hpp"
#include "gateway/uplink/ack_inbox.hpp"
#include "gateway/config.hpp"

namespace loopgate {

class Uplink {
public:
    using AckHandler = std::function<void(bool delivered)>;

    Uplink(boost::asio::io_context& io, const Config& config);
    ~Uplink();
    Uplink(const Uplink&) = delete;
    Uplink& operator=(const Uplink&) = delete;

    void start();
    // Publishes the retained offline status and disconnects cleanly; waits a bounded time.
    void stop();

    bool connected() const { return connected_; }
    std::int64_t connected_since_ns() const { return connected_since_ns_; }
    std::uint64_t reconnects() const { return reconnects_; }
    std::uint64_t connect_failures() const { return connect_failures_; }
    // Why the last connect failed or the connection was lost; empty until one did.
    const std::string& last_error() const { return last_error_; }

    // QoS 1 publish; on_done runs on the executor once the broker acknowledged it (true) or the
    // attempt failed for good (false; the caller publishes it again later).
    void publish(const std::string& topic, const std::string& payload, bool retained, AckHandler on_done);

    // Acknowledgements of publishes made while a LazyAcks is alive need not wake the event loop:
    // their handlers run at the next settle_acks(), which the owner calls before it relies on them
    // (see ack_inbox.hpp). Everything else, and every failure, is handled as soon as it arrives.
    class LazyAcks {
    public:
        LazyAcks(Uplink& u, bool lazy) : u_(u), was_(u.lazy_acks_) { u_.lazy_acks_ = lazy; }
        ~LazyAcks() { u_.lazy_acks_ = was_; }
        LazyAcks(const LazyAcks&) = delete;
        LazyAcks& operator=(const LazyAcks&) = delete;

    private:
        Uplink& u_;
        bool was_;
    };
    // Runs the handlers of the acknowledgements that arrived and were left waiting.
    void settle_acks();
    // While urgent, no acknowledgement waits (the bridge's shutdown drain waits on them).
    void set_acks_urgent(bool urgent) { inbox_->set_urgent(urgent); }

    void on_connected(std::function<void()> f) { on_connected_ = std::move(f); }

    // Messages on `filter` (MQTT wildcards allowed) are handed to `handler` on the executor.
    // Subscriptions are made again at every connect (sessions are clean). Call before start().
    using MessageHandler = std::function<void(const std::string& topic, const std::string& payload)>;
    void subscribe(const std::string& filter, MessageHandler handler);
    // Inside a MessageHandler: whether the message is the broker's retained copy rather than a live
    // publish (a signed config update must never be applied from a stale retained message).
    bool delivering_retained() const { return delivering_retained_; }
    // Replaces the default last will (the retained offline status). Call before start().
    void set_will(const std::string& topic, const std::string& payload, bool retained);
    // The client's will is fixed per connect; a publisher that changes it between connects
    // (Sparkplug's bdSeq) updates it here, used from the next connect on.
    const mqtt::connect_options& connect_options() const { return options_; }
    // Runs right before every connect attempt (a publisher refreshes its will there with set_will).
    void before_connect(std::function<void()> f) { before_connect_ = std::move(f); }
    // The retained status document ("online"/"offline" plus counters); a plain one until set.
    void status_source(std::function<std::string(const char* state)> f) { status_source_ = std::move(f); }
    void publish_status(const char* state);
    void on_disconnected(std::function<void()> f) { on_disconnected_ = std::move(f); }

private:
    struct Link;
    class Callbacks;
    class Listener;

    void connect();
    void schedule_reconnect();
    void handle_connected();
    void handle_lost(const std::string& why);
    void renew_client();
    void handle_connect_failed(const std::string& why);
    void handle_publish_done(std::uint64_t id, bool ok);
    std::string status_payload(const char* state) const;

    boost::asio::io_context& io_;
    const Config& config_;
    mqtt::connect_options options_;
    std::shared_ptr<std::atomic<bool>> alive_;
    std::shared_ptr<AckInbox> inbox_ = std::make_shared<AckInbox>();
    std::shared_ptr<Link> link_;
    // Paho keeps raw pointers to these: declared before client_, they are destroyed after it.
    std::unique_ptr<Callbacks> callbacks_;
    std::unique_ptr<Listener> connect_listener_;
    std::unique_ptr<Listener> publish_listener_;
    std::unique_ptr<mqtt::async_client> client_;
    boost::asio::steady_timer reconnect_timer_;
    Backoff backoff_;
    bool lazy_acks_ = false;

    bool connected_ = false;
    bool connecting_ = false;
    bool stopping_ = false;
    bool logged_failure_ = false;
    std::int64_t connected_since_ns_ = 0;
    std::uint64_t reconnects_ = 0;
    std::uint64_t connect_failures_ = 0;
    std::string last_error_;
    std::uint64_t next_publish_id_ = 1;
    std::map<std::uint64_t, AckHandler> outstanding_;

    std::function<void()> on_connected_;
    std::function<void()> before_connect_;
    std::function<void()> on_disconnected_;
    std::function<std::string(const char*)> status_source_;
    std::vector<std::pair<std::string, MessageHandler>> subscriptions_;
    void handle_message(const std::string& topic, const std::string& payload, bool retained);
    bool delivering_retained_ = false;
};

}  // namespace loopgate
