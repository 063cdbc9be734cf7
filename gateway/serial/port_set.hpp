#pragma once
// The gateway's running ports, as one set that a reload edits in place: a port whose configuration
// text is unchanged keeps its session (its open line, its driver's state and counters) untouched.

#include <list>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gateway/config.hpp"
#include "gateway/serial/port_session.hpp"

namespace loopgate {

struct PortChanges {
    int kept = 0;
    int restarted = 0;
    int added = 0;
    int removed = 0;
};

// How many distinct device/metric names these ports can publish at most: each port's max_metrics
// plus an `online` verdict per device. What bounds every map downstream that is keyed by such names
// (report state, live values, device presence, Sparkplug aliases).
std::size_t name_limit(const std::list<PortSlot>& ports);

class PortSet {
public:
    PortSet(boost::asio::io_context& io, PortSession::Sink sink);
    PortSet(const PortSet&) = delete;
    PortSet& operator=(const PortSet&) = delete;

    // A new port, started only once the set is (or at the next start).
    void add(const PortConfig& port);
    void start();
    void stop();

    // Brings the set to `next`, matching ports by name: unchanged ones keep running, changed ones
    // restart, new ones start (unless the set is stopped), missing ones stop.
    PortChanges replace_with(std::vector<PortConfig> next);

    // The slots themselves, not a copy: the device router and the status view hold this list and so
    // always see the current ports.
    std::list<PortSlot>& slots() { return slots_; }
    std::size_t size() const { return slots_.size(); }
    std::size_t name_limit() const;  // of slots(), below

private:
    PortSlot& emplace(const PortConfig& port);

    boost::asio::io_context& io_;
    PortSession::Sink sink_;
    std::list<PortSlot> slots_;
    bool running_ = false;
};

}  // namespace loopgate
