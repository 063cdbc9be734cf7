#pragma once
// A broker URI as the config names it (`tcp://host:1883`, `ssl://[::1]:8883`, the `mqtt://` and
// `mqtts://` spellings), checked whole at load time so that a typo in a backup broker's entry is a
// located config error, not a surprise on the night the primary fails.

#include <optional>
#include <string>

namespace loopgate {

struct BrokerAddress {
    bool tls = false;
    std::string host;  // a name or an address; an IPv6 address without its brackets
    int port = 1883;

    // The spelling Paho knows: tcp://host:port or ssl://host:port (IPv6 in brackets).
    std::string uri() const;
};

// The address, or nullopt with `problem` saying what is wrong (unknown scheme, no host, a port that
// is not 1-65535, a path, user info...). Without a port: 1883, or 8883 for TLS.
std::optional<BrokerAddress> parse_broker_address(const std::string& text, std::string& problem);

}  // namespace loopgate
