#include "gateway/sparkplug/sparkplug_publisher.hpp"

#include <cstdio>
#include <fstream>
#include <memory>

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/config.hpp"
#include "gateway/store/batch_payload.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

namespace {

std::int64_t now_ms() { return wall_now_ns() / 1'000'000; }

// The last bdSeq used; 255 when there is none, so the first connect uses 0.
std::uint64_t load_bdseq(const std::string& file) {
    std::ifstream in(file);
    long long v = -1;
    if (in >> v && v >= 0 && v <= 255) return static_cast<std::uint64_t>(v);
    return 255;
}

}  // namespace

SparkplugPublisher::SparkplugPublisher(boost::asio::io_context& io, Uplink& uplink, const Config& config)
    : io_(io),
      uplink_(uplink),
      config_(config),
      bdseq_file_(config.store.path + ".sparkplug-bdseq"),
      node_(config.uplink.sparkplug.group_id, config.uplink.sparkplug.edge_node_id, load_bdseq(bdseq_file_)) {
    const SparkplugConfig& spb = config.uplink.sparkplug;
    uplink_.before_connect([this] {
        sparkplug::Message will = node_.begin_session(now_ms());
        save_bdseq();
        uplink_.set_will(will.topic, will.payload, false);
    });
    // Leaving a server for another (failback) ends the session there as a death would: NDEATH with
    // this bdSeq; the next server gets a new session (the next bdSeq, NBIRTH, DBIRTHs) and its own
    // STATE of the primary host.
    uplink_.before_leaving([this] { publish_death(); });
    uplink_.subscribe(sparkplug::topic(spb.group_id, "NCMD", spb.edge_node_id),
                      [this](const std::string& t, const std::string& p) { handle_command(t, p); });
    uplink_.subscribe(sparkplug::topic(spb.group_id, "DCMD", spb.edge_node_id) + "/+",
                      [this](const std::string& t, const std::string& p) { handle_command(t, p); });
    if (!spb.primary_host_id.empty())
        uplink_.subscribe(sparkplug::state_topic(spb.primary_host_id),
                          [this](const std::string&, const std::string& p) { handle_state(p); });
}

void SparkplugPublisher::save_bdseq() const {
    // Written before every connect attempt: a restart must not reuse the bdSeq of the last session.
    std::string tmp = bdseq_file_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        log::warning("sparkplug: cannot write ", tmp, "; bdSeq will not survive a restart");
        return;
    }
    std::string text = std::to_string(node_.bdseq()) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), bdseq_file_.c_str()) != 0)
        log::warning("sparkplug: cannot write ", bdseq_file_, "; bdSeq will not survive a restart");
}

bool SparkplugPublisher::ready() const {
    if (!node_.born()) return false;
    const SparkplugConfig& spb = config_.uplink.sparkplug;
    return spb.primary_host_id.empty() || !spb.hold_without_primary_host || host_online_;
}

void SparkplugPublisher::on_connected() {
    const SparkplugConfig& spb = config_.uplink.sparkplug;
    if (!spb.primary_host_id.empty()) {
        // A new session learns the host's state afresh (its STATE message is retained).
        host_online_ = false;
        if (spb.hold_without_primary_host) {
            log::info("sparkplug: connected (bdSeq ", node_.bdseq(), "); waiting for primary host ",
                      spb.primary_host_id, " to be online before NBIRTH");
            return;
        }
    }
    send_births("connected");
}

void SparkplugPublisher::publish_death() {
    if (!uplink_.connected()) return;
    sparkplug::Message death = node_.ndeath(now_ms());
    uplink_.publish(death.topic, death.payload, false, [](bool) {});
    node_.end_session();
}

void SparkplugPublisher::send_births(const char* why) {
    auto births = node_.birth(now_ms());
    log::info("sparkplug: ", why, ": NBIRTH (bdSeq ", node_.bdseq(), ") and ", births.size() - 1, " DBIRTHs");
    for (auto& m : births) {
        uplink_.publish(m.topic, m.payload, false, [kind = m.kind, device = m.device](bool ok) {
            if (!ok) log::debug("sparkplug: ", kind, " ", device, " not acknowledged");
        });
    }
}

void SparkplugPublisher::handle_state(const std::string& payload) {
    auto online = sparkplug::parse_state(payload);
    if (!online) {
        log::warning("sparkplug: ignoring a STATE message that is neither {\"online\":...} JSON nor ONLINE/OFFLINE");
        return;
    }
    if (*online == host_online_) return;
    host_online_ = *online;
    const SparkplugConfig& spb = config_.uplink.sparkplug;
    if (!host_online_) {
        log::warning("sparkplug: primary host ", spb.primary_host_id, " is offline",
                     spb.hold_without_primary_host ? "; holding data in the store" : "");
        return;
    }
    log::info("sparkplug: primary host ", spb.primary_host_id, " is online");
    if (!uplink_.connected()) return;
    send_births("primary host online");
    if (on_resume_) on_resume_();
}

void SparkplugPublisher::handle_command(const std::string& topic, const std::string& payload) {
    auto cmd = node_.parse_command(topic, payload);
    if (!cmd) {
        log::warning("sparkplug: cannot decode the command on ", untrusted_text(topic, 256));
        return;
    }
    for (const auto& e : cmd->errors) log::warning("sparkplug: ", untrusted_text(topic, 256), ": ", e);
    if (cmd->rebirth) {
        if (!uplink_.connected() || !ready()) {
            log::info("sparkplug: rebirth requested while not publishing; births follow when data may flow");
        } else {
            send_births("rebirth requested");
        }
    }
    if (cmd->writes.empty()) return;
    if (command_sink_) command_sink_(cmd->device, cmd->writes);
    else log::warning("sparkplug: DCMD for ", untrusted_text(cmd->device), " refused: writes are not routed to any port");
}

void SparkplugPublisher::publish(const StoredBatch& batch, bool historical, std::function<void(bool)> done) {
    v1::Batch b;
    if (!b.ParseFromString(batch.payload)) {
        // Sending it again would fail the same way: drop it, loudly.
        log::error("sparkplug: stored batch ", batch.sequence, " does not parse; dropped");
        boost::asio::post(io_, [done = std::move(done)] { done(true); });
        return;
    }
    if (!node_.born()) {
        boost::asio::post(io_, [done = std::move(done)] { done(false); });
        return;
    }
    // Decoding is inherent here: aliases and seq belong to the session, so stored bytes cannot be
    // Sparkplug already. The Readings built from the parsed batch were measured and kept
    // (bench/sparkplug_bench.cpp, docs/BENCHMARKS.md): under callgrind they cost ~190 instructions
    // a reading against ~1,700 for the parse and ~1,700 for process(), about 5 % of this path;
    // working on views of the v1::Batch instead would need string_view-keyed alias tables in
    // EdgeNode for that.
    std::vector<Reading> readings;
    readings.reserve(static_cast<std::size_t>(b.readings_size()));
    for (const auto& r : b.readings()) readings.push_back(from_proto(r));
    auto messages = node_.process(readings, historical || b.historical(), now_ms());
    if (node_.metrics_over_limit() > 0 && !logged_over_limit_) {
        logged_over_limit_ = true;
        log::warning("sparkplug: more than ", node_.metric_count(), " metrics (the ports' max_metrics); readings of "
                     "new metrics are left out of DDATA, without alias or rebirth, and counted");
    }
    if (messages.empty()) {
        boost::asio::post(io_, [done = std::move(done)] { done(true); });
        return;
    }
    struct Pending {
        std::size_t left;
        bool ok = true;
        std::function<void(bool)> done;
    };
    auto pending = std::make_shared<Pending>(Pending{messages.size(), true, std::move(done)});
    for (auto& m : messages) {
        uplink_.publish(m.topic, m.payload, false, [pending](bool ok) {
            pending->ok = pending->ok && ok;
            if (--pending->left == 0) pending->done(pending->ok);
        });
    }
}

}  // namespace loopgate
