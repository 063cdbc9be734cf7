#pragma once
// Whether a broker answers: a TCP connect to its host and port, bounded in time, on the event loop
// (the name lookup runs on Asio's resolver thread). The uplink asks this of the first broker while it
// uses another one, to know when to go back (gateway/uplink/broker_failover.hpp). Only the listener
// is checked: a broker that accepts TCP but refuses the client fails the failback's connect, which
// the failover piece then spaces out.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace loopgate {

class BrokerProbe {
public:
    explicit BrokerProbe(boost::asio::io_context& io) : io_(io) {}
    ~BrokerProbe() { cancel(); }
    BrokerProbe(const BrokerProbe&) = delete;
    BrokerProbe& operator=(const BrokerProbe&) = delete;

    // Calls done(answers) once, on the executor, unless cancelled first. One probe at a time.
    void probe(const std::string& host, int port, std::chrono::milliseconds timeout, std::function<void(bool)> done);
    void cancel();

private:
    struct Attempt;
    boost::asio::io_context& io_;
    std::shared_ptr<Attempt> attempt_;
};

}  // namespace loopgate
