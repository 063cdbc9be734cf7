#pragma once
// The one upstream MQTT connection (Eclipse Paho C++ async client), to one broker of uplink.brokers
// at a time. Which one is BrokerFailover's decision; this shell drives the list itself (a Paho
// client per broker, a disconnect before a move) because Paho's own serverURIs with automatic
// reconnect never wraps back to the first (paho.mqtt.c #989, #1661). A move is a loss like any
// other: what was not acknowledged goes again from the store, in order, on the next broker (whose
// fresh session Paho's in-flight copies could not use anyway).
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
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mqtt/async_client.h>

#include "core/backoff.hpp"
#include "core/broker_address.hpp"
#include "gateway/uplink/ack_inbox.hpp"
#include "gateway/uplink/broker_failover.hpp"
#include "gateway/uplink/broker_probe.hpp"
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
    // The broker connected to, or being tried, as the config spells it.
    const std::string& broker_in_use() const { return config_.uplink.brokers[failover_.current()]; }
    std::uint64_t failovers() const { return failover_.failovers(); }
    std::uint64_t failbacks() const { return failover_.failbacks(); }
    const std::string& last_failover_cause() const { return failover_.last_failover_cause(); }
    std::int64_t last_failover_ns() const { return last_failover_ns_; }  // 0: none yet
    // Another client seems to use this client id (README "Brokers and failover").
    bool client_id_conflict() const;

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
    // Runs while still connected, before the uplink leaves a broker on purpose (failback): a
    // Sparkplug node publishes its NDEATH there, since a clean disconnect sends no will.
    void before_leaving(std::function<void()> f) { before_leaving_ = std::move(f); }

private:
    struct Link;
    class Callbacks;
    class Listener;

    void connect();
    void schedule_reconnect();
    void arm_probe();
    void handle_probed(bool answers);
    void leave_for_first_broker();
    void handle_left();
    void handle_server_disconnect(std::uint64_t generation, int reason);
    void fail_outstanding();
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
    std::unique_ptr<Listener> disconnect_listener_;
    std::unique_ptr<mqtt::async_client> client_;
    std::string client_uri_;            // the broker client_ was made for
    std::uint64_t client_generation_ = 0;  // tells a late call from a replaced client
    std::vector<BrokerAddress> brokers_;
    BrokerFailover failover_;
    BrokerProbe probe_;
    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer probe_timer_;
    boost::asio::steady_timer leave_timer_;
    Backoff backoff_;
    bool lazy_acks_ = false;

    bool connected_ = false;
    bool connecting_ = false;
    bool stopping_ = false;
    bool leaving_ = false;               // disconnecting from a broker to fail back
    bool taken_over_ = false;            // the broker said so (MQTT 5 DISCONNECT 0x8E) before the loss
    std::set<std::size_t> logged_failures_;  // brokers whose connect failure is logged this outage
    std::int64_t last_failover_ns_ = 0;
    std::int64_t connected_since_ns_ = 0;
    std::uint64_t reconnects_ = 0;
    std::uint64_t connect_failures_ = 0;
    std::string last_error_;
    std::uint64_t next_publish_id_ = 1;
    std::map<std::uint64_t, AckHandler> outstanding_;

    std::function<void()> on_connected_;
    std::function<void()> before_connect_;
    std::function<void()> on_disconnected_;
    std::function<void()> before_leaving_;
    std::function<std::string(const char*)> status_source_;
    std::vector<std::pair<std::string, MessageHandler>> subscriptions_;
    void handle_message(const std::string& topic, const std::string& payload, bool retained);
    bool delivering_retained_ = false;
};

}  // namespace loopgate
