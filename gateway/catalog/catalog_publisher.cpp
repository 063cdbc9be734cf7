#include "gateway/catalog/catalog_publisher.hpp"

#include <utility>

#include "core/log.hpp"

namespace loopgate {

CatalogPublisher::CatalogPublisher(boost::asio::io_context& io, Uplink& uplink, std::string topic,
                                   std::function<std::string()> build, std::chrono::milliseconds min_interval)
    : timer_(io), uplink_(uplink), topic_(std::move(topic)), build_(std::move(build)), pacer_(min_interval) {}

void CatalogPublisher::changed() {
    pacer_.changed();
    schedule();
}

void CatalogPublisher::observe(const std::vector<Reading>& readings, std::size_t names_seen) {
    bool change = names_seen != names_seen_;
    names_seen_ = names_seen;
    for (const Reading& r : readings) {
        if (r.metric != "online") continue;
        const bool* on = std::get_if<bool>(&r.value);
        if (!on) continue;
        auto [it, inserted] = online_.try_emplace(r.device, *on);
        if (inserted || it->second != *on) change = true;
        it->second = *on;
    }
    if (change) changed();
}

void CatalogPublisher::on_connected() {
    force_ = true;
    changed();
}

void CatalogPublisher::schedule() {
    if (stopped_ || timer_set_) return;
    auto due = pacer_.due(std::chrono::steady_clock::now());
    if (!due) return;
    timer_set_ = true;
    timer_.expires_at(*due);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        timer_set_ = false;
        if (ec || stopped_) return;
        publish_now();
    });
}

void CatalogPublisher::publish_now() {
    const auto now = std::chrono::steady_clock::now();
    std::string payload = build_();
    if ((payload == last_payload_ && !force_) || !uplink_.connected()) {
        pacer_.published(now);
        if (!uplink_.connected()) force_ = true;  // on_connected publishes it
        return;
    }
    force_ = false;
    pacer_.published(now, payload.size());
    last_payload_ = payload;
    ++published_;
    uplink_.publish(topic_, payload, true, [this](bool delivered) {
        if (delivered || stopped_) return;
        log::debug("catalog: publish failed; again at the next connect");
        last_payload_.clear();  // whatever the broker holds, the next attempt sends the catalog again
    });
}

void CatalogPublisher::stop() {
    stopped_ = true;
    timer_.cancel();
}

}  // namespace loopgate
