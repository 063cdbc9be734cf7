#include "gateway/ops/event_hub.hpp"

#include <algorithm>

#include "core/reading_json.hpp"

namespace loopgate {

EventHub::EventHub(boost::asio::io_context& io, std::function<std::string()> status,
                   std::function<std::string(std::uint64_t&)> log_since)
    : timer_(io), readings_timer_(io), status_(std::move(status)), log_since_(std::move(log_since)) {}

EventFrame EventHub::frame(const char* name, const std::string& data) {
    auto out = std::make_shared<std::string>();
    out->reserve(data.size() + 24);
    *out += "event: ";
    *out += name;
    *out += "\ndata: ";
    *out += data;
    *out += "\n\n";
    return out;
}

void EventHub::subscribe(const std::shared_ptr<EventSubscriber>& subscriber) {
    if (stopped_) return;
    std::uint64_t newest = 0;
    std::string lines = log_since_(newest);
    if (!subscriber->deliver(frame("status", status_())) || !subscriber->deliver(frame("log", lines))) return;
    subscribers_.push_back(subscriber);
    // Lines carry their number: a page that gets one twice (it opened while others were being served)
    // shows it once.
    if (!ticking_) {
        log_seen_ = newest;
        ticking_ = true;
        tick();
    }
}

void EventHub::publish_readings(const std::vector<Reading>& readings) {
    if (readings.empty() || stopped_) return;
    for (const Reading& r : readings) {
        if (pending_readings_.size() >= readings_window_bytes) {
            ++skipped_readings_;
            continue;
        }
        if (!pending_readings_.empty()) pending_readings_ += ',';
        append_json(pending_readings_, r);
    }
    if (!readings_due_) {
        readings_due_ = true;
        readings_timer_.expires_after(readings_delay);
        readings_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec && readings_due_) flush_readings();
        });
    }
}

void EventHub::flush_readings() {
    readings_due_ = false;
    if (skipped_readings_) {
        publish(frame("skipped", "{\"readings\":" + std::to_string(skipped_readings_) + "}"));
        skipped_readings_ = 0;
    }
    if (pending_readings_.empty()) return;
    std::string data;
    data.reserve(pending_readings_.size() + 2);
    data += '[';
    data += pending_readings_;
    data += ']';
    pending_readings_.clear();
    publish(frame("readings", data));
}

void EventHub::publish(const EventFrame& f) {
    auto gone = [&](const std::weak_ptr<EventSubscriber>& weak) {
        auto s = weak.lock();
        if (s && s->deliver(f)) return false;
        if (s) ++dropped_;
        return true;
    };
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(), gone), subscribers_.end());
}

void EventHub::tick() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        if (subscribers_.empty()) {
            ticking_ = false;
            return;
        }
        std::string lines = log_since_(log_seen_);
        if (lines != "[]") publish(frame("log", lines));
        publish(frame("status", status_()));
        tick();
    });
}

void EventHub::stop() {
    stopped_ = true;
    timer_.cancel();
    readings_timer_.cancel();
    pending_readings_.clear();
    subscribers_.clear();
}

}  // namespace loopgate
