#pragma once
// Server-Sent Events for the status page (GET /api/events): readings as the ports hand them up
// (gathered for at most 200 ms into one event: one write per page five times a second instead of
// one per serial read), and once a second the status document and any new log lines.
// A page needs no more readings than it can show: past 128 KiB of readings in one 200 ms window (some
// 4,500 readings a second) the rest of the window's readings are left out of the stream and counted
// in a "skipped" event; the next status (a second later at most) carries every latest value. With no page open it does nothing at
// all: the data path asks active() first. A subscriber that cannot keep up is dropped by its own
// bounded queue, never waited for.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/reading.hpp"

namespace loopgate {

using EventFrame = std::shared_ptr<const std::string>;

class EventSubscriber {
public:
    virtual ~EventSubscriber() = default;
    // Queues the frame; false when the subscriber is gone or fell too far behind (it closes itself).
    virtual bool deliver(const EventFrame& frame) = 0;
};

class EventHub {
public:
    // `status` renders the status document; `log_since` the log lines after a number, as a JSON array,
    // setting the number to the newest one rendered.
    EventHub(boost::asio::io_context& io, std::function<std::string()> status,
             std::function<std::string(std::uint64_t& after)> log_since);
    EventHub(const EventHub&) = delete;
    EventHub& operator=(const EventHub&) = delete;

    bool active() const { return !subscribers_.empty(); }
    std::size_t subscribers() const { return subscribers_.size(); }
    std::uint64_t dropped() const { return dropped_; }

    // A new page: it gets the status and the log lines held at once, then everything that follows.
    void subscribe(const std::shared_ptr<EventSubscriber>& subscriber);
    void publish_readings(const std::vector<Reading>& readings);
    void stop();

    // "event: NAME\ndata: DATA\n\n"; DATA must be one line (JSON is).
    static EventFrame frame(const char* name, const std::string& data);

private:
    void publish(const EventFrame& frame);
    void tick();
    void flush_readings();

    static constexpr auto readings_delay = std::chrono::milliseconds(200);
    static constexpr std::size_t readings_window_bytes = 128 * 1024;

    boost::asio::steady_timer timer_;
    boost::asio::steady_timer readings_timer_;
    std::string pending_readings_;  // JSON objects, comma-separated, not yet sent
    std::uint64_t skipped_readings_ = 0;  // in this window
    bool readings_due_ = false;
    std::function<std::string()> status_;
    std::function<std::string(std::uint64_t&)> log_since_;
    std::vector<std::weak_ptr<EventSubscriber>> subscribers_;
    std::uint64_t log_seen_ = 0;
    std::uint64_t dropped_ = 0;
    bool ticking_ = false;
    bool stopped_ = false;
};

}  // namespace loopgate
