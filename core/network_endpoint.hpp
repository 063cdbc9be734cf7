#pragma once
// A port's `path` as a network address: `tcp://host:port` (a raw byte stream to a serial device
// server) or `rfc2217://host:port` (Telnet with the COM-PORT-OPTION, RFC 2217). Anything without
// "://" is a device path. Pure, so the config check and the transport agree on one reading.

#include <cstdint>
#include <optional>
#include <string>

namespace loopgate {

struct NetworkEndpoint {
    std::string scheme;  // "tcp" or "rfc2217"
    std::string host;    // a name, an IPv4 address, or an IPv6 address without its brackets
    std::uint16_t port = 0;

    std::string host_port() const;  // "host:port", "[v6]:port"
};

struct EndpointParse {
    std::optional<NetworkEndpoint> endpoint;  // set when the path is a well-formed URL
    std::string error;                        // set when it looks like a URL but is not a valid one
};

// Whether `path` is meant as a URL rather than a device path.
bool is_network_path(const std::string& path);

// Reads a URL path. `default_port` fills a missing port (0: the port is required); a device path
// gives neither endpoint nor error.
EndpointParse parse_network_path(const std::string& path, std::uint16_t default_port = 0);

}  // namespace loopgate
