#pragma once
// Sparkplug B 3.0 on the wire (uplink.format: sparkplug): Loopgate is an Edge Node, its serial
// devices are Sparkplug Devices. The pure part (payloads, aliases, seq/bdSeq) is sparkplug_node.hpp;
// this class drives it from the bridge and the uplink:
//
// - before every connect attempt bdSeq advances (kept in <store.path>.sparkplug-bdseq, so it also
//   advances across restarts) and the matching NDEATH becomes the MQTT will;
// - on connect: NBIRTH (seq 0) and the DBIRTHs of the devices known so far, unless a primary host is
//   configured, in which case the births wait for its STATE online;
// - each stored batch is decoded and turned into DBIRTH/DDATA/DDEATH messages; done(true) once all
//   of them are acknowledged;
// - NCMD Node Control/Rebirth = true: full birth sequence; DCMD: decoded here, its writes handed to
//   the downlink stage (gateway/downlink/dcmd_handler.hpp), which gates and routes them;
// - primary host STATE offline with hold_without_primary_host: ready() is false, so data stays in the
//   store; online again: full birth sequence, then the held data flows (as historical).

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gateway/sparkplug/sparkplug_node.hpp"
#include "gateway/uplink/batch_publisher.hpp"

namespace loopgate {

class SparkplugPublisher final : public BatchPublisher {
public:
    using Writes = std::vector<std::pair<std::string, Value>>;  // metric name, value
    using CommandSink = std::function<void(const std::string& device, const Writes& writes)>;

    // Registers the will refresh and the NCMD/DCMD/STATE subscriptions: construct before uplink.start().
    SparkplugPublisher(boost::asio::io_context& io, Uplink& uplink, const Config& config);

    void publish(const StoredBatch& batch, bool historical, std::function<void(bool)> done) override;
    bool ready() const override;
    void on_connected() override;
    // Before a clean disconnect (SIGTERM): the NDEATH, since the broker sends the will only when a
    // connection ends uncleanly.
    void publish_death();

    // Where decoded DCMD writes go; without a sink they are refused (logged).
    void on_device_command(CommandSink sink) { command_sink_ = std::move(sink); }
    // Called when data may flow again after the primary host came back (births already sent): the
    // gateway has the bridge treat everything stored as backlog, so held data goes out as historical.
    void on_resume(std::function<void()> f) { on_resume_ = std::move(f); }

    const sparkplug::EdgeNode& node() const { return node_; }
    // The most metrics that get an alias (PortSet::name_limit).
    void set_limit(std::size_t max_metrics) { node_.set_limit(max_metrics); }
    void set_node_metrics(std::vector<std::pair<std::string, Value>> metrics) { node_.set_node_metrics(std::move(metrics)); }
    bool primary_host_online() const { return host_online_; }

private:
    void send_births(const char* why);
    void handle_state(const std::string& payload);
    void handle_command(const std::string& topic, const std::string& payload);
    void save_bdseq() const;

    boost::asio::io_context& io_;
    Uplink& uplink_;
    const Config& config_;
    std::string bdseq_file_;
    sparkplug::EdgeNode node_;
    bool host_online_ = false;
    bool connected_ = false;
    bool logged_over_limit_ = false;
    CommandSink command_sink_;
    std::function<void()> on_resume_;
};

}  // namespace loopgate
