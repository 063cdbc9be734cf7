#include "core/network_endpoint.hpp"

#include <cctype>

namespace loopgate {

namespace {

EndpointParse failed(std::string why) { return {std::nullopt, std::move(why)}; }

bool valid_host_name(const std::string& host) {
    for (char c : host) {
        auto u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) && c != '-' && c != '.' && c != '_') return false;
    }
    return true;
}

}  // namespace

std::string NetworkEndpoint::host_port() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool is_network_path(const std::string& path) { return path.find("://") != std::string::npos; }

EndpointParse parse_network_path(const std::string& path, std::uint16_t default_port) {
    auto sep = path.find("://");
    if (sep == std::string::npos) return {};
    std::string scheme = path.substr(0, sep);
    const std::string forms = "tcp://host:port or rfc2217://host:port";
    if (scheme != "tcp" && scheme != "rfc2217")
        return failed("unknown scheme '" + scheme + "'; a network port is " + forms + ", anything else a device path");
    std::string rest = path.substr(sep + 3);
    if (!rest.empty() && rest.back() == '/') rest.pop_back();  // "tcp://host:4001/" as browsers write it
    if (rest.find('/') != std::string::npos || rest.find('?') != std::string::npos)
        return failed("'" + path + "' has a path or query after host:port; expected " + forms);
    if (rest.find('@') != std::string::npos)
        return failed("'" + path + "' carries a user name; device servers take none in the URL");
    NetworkEndpoint e;
    e.scheme = scheme;
    std::string port_text;
    bool has_port = false;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos) return failed("'" + path + "': '[' opens an IPv6 address that no ']' closes");
        e.host = rest.substr(1, close - 1);
        std::string after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return failed("'" + path + "': expected ':port' after the IPv6 address");
            port_text = after.substr(1);
            has_port = true;
        }
        if (e.host.empty() || e.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
            return failed("'" + path + "': '" + e.host + "' is not an IPv6 address");
    } else {
        auto colon = rest.find(':');
        if (colon != std::string::npos && rest.find(':', colon + 1) != std::string::npos)
            return failed("'" + path + "': an IPv6 address goes in brackets, as in " + scheme + "://[fe80::1]:4001");
        e.host = rest.substr(0, colon);
        if (colon != std::string::npos) {
            port_text = rest.substr(colon + 1);
            has_port = true;
        }
        if (e.host.empty()) return failed("'" + path + "' names no host; expected " + forms);
        if (!valid_host_name(e.host)) return failed("'" + path + "': '" + e.host + "' is not a host name or address");
    }
    if (!has_port) {
        if (default_port == 0) {
            e.port = 4001;
            return failed("'" + path + "' names no TCP port; a device server listens on one per serial port " +
                          "(NPort: 4001 for its first, ser2net: as configured), e.g. " + scheme + "://" + e.host_port());
        }
        e.port = default_port;
        return {e, {}};
    }
    if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
        return failed("'" + path + "': the port '" + port_text + "' is not a number from 1 to 65535");
    unsigned long port = std::stoul(port_text);
    if (port < 1 || port > 65535)
        return failed("'" + path + "': the port " + port_text + " is not from 1 to 65535");
    e.port = static_cast<std::uint16_t>(port);
    return {e, {}};
}

}  // namespace loopgate
