#include "gateway/serial/port_set.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <boost/asio/post.hpp>

#include "drivers/registry.hpp"

namespace loopgate {

PortSet::PortSet(boost::asio::io_context& io, PortSession::Sink sink) : io_(io), sink_(std::move(sink)) {}

PortSlot& PortSet::emplace(const PortConfig& port) {
    PortSlot& slot = slots_.emplace_back();
    slot.config = std::make_unique<PortConfig>(port);
    slot.session = std::make_unique<PortSession>(io_, *slot.config,
                                                 make_driver(slot.config->driver, driver_spec(*slot.config)), sink_);
    return slot;
}

void PortSet::add(const PortConfig& port) {
    PortSlot& slot = emplace(port);
    if (running_) slot.session->start();
}

void PortSet::start() {
    running_ = true;
    for (PortSlot& slot : slots_) slot.session->start();
}

void PortSet::stop() {
    running_ = false;
    for (PortSlot& slot : slots_) slot.session->stop();
}

std::size_t name_limit(const std::list<PortSlot>& ports) {
    std::size_t limit = 0;
    for (const PortSlot& slot : ports) limit += slot.config->max_metrics + slot.session->driver().device_names().size();
    return limit;
}

std::size_t PortSet::name_limit() const { return loopgate::name_limit(slots_); }

PortChanges PortSet::replace_with(std::vector<PortConfig> next) {
    PortChanges changes;
    std::list<PortSlot> retired;
    for (auto it = slots_.begin(); it != slots_.end();) {
        auto match = std::find_if(next.begin(), next.end(),
                                  [&](const PortConfig& p) { return p.name == it->config->name; });
        if (match != next.end() && match->fingerprint == it->config->fingerprint) {
            ++changes.kept;
            next.erase(match);
            ++it;
            continue;
        }
        ++(match != next.end() ? changes.restarted : changes.removed);
        it->session->stop();
        retired.splice(retired.end(), slots_, it++);
    }
    for (const PortConfig& port : next) add(port);
    changes.added = static_cast<int>(next.size()) - changes.restarted;
    // Completions of the stopped ports' cancelled reads and timers are already queued; the sessions
    // are destroyed after them.
    boost::asio::post(io_, [retired = std::make_shared<std::list<PortSlot>>(std::move(retired))] {});
    return changes;
}

}  // namespace loopgate
