#include "core/broker_address.hpp"

#include <cctype>

namespace loopgate {

namespace {

bool host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string BrokerAddress::uri() const {
    bool v6 = host.find(':') != std::string::npos;
    return std::string(tls ? "ssl://" : "tcp://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<BrokerAddress> parse_broker_address(const std::string& text, std::string& problem) {
    BrokerAddress a;
    auto sep = text.find("://");
    if (sep == std::string::npos) {
        problem = "expected a broker URI such as tcp://host:1883 or ssl://host:8883, got '" + text + "'";
        return std::nullopt;
    }
    std::string scheme = text.substr(0, sep);
    if (scheme == "tcp" || scheme == "mqtt") a.tls = false;
    else if (scheme == "ssl" || scheme == "mqtts") a.tls = true;
    else {
        problem = "unknown scheme '" + scheme + "' in '" + text + "'; expected tcp://, mqtt://, ssl:// or mqtts://";
        return std::nullopt;
    }
    a.port = a.tls ? 8883 : 1883;
    std::string rest = text.substr(sep + 3);
    if (rest.find('@') != std::string::npos) {
        problem = "'" + text + "' carries user info; broker credentials go in uplink.credentials_file";
        return std::nullopt;
    }
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find_first_of("/?#") != std::string::npos) {
        problem = "'" + text + "' has a path or query; expected scheme://host:port only";
        return std::nullopt;
    }
    std::string port_text;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos) {
            problem = "'" + text + "': an IPv6 address needs its closing ']'";
            return std::nullopt;
        }
        a.host = rest.substr(1, close - 1);
        for (char c : a.host)
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
                problem = "'" + text + "': '" + a.host + "' is not an IPv6 address";
                return std::nullopt;
            }
        std::string after = rest.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            problem = "'" + text + "': expected ':port' after the IPv6 address";
            return std::nullopt;
        }
        if (!after.empty()) port_text = after.substr(1);
        if (after == ":") port_text = ":";  // an empty port is refused below
    } else {
        auto colon = rest.find(':');
        a.host = rest.substr(0, colon);
        if (colon != std::string::npos) port_text = rest.substr(colon + 1);
        if (colon != std::string::npos && port_text.empty()) port_text = ":";
        for (char c : a.host)
            if (!host_char(c)) {
                problem = "'" + text + "': '" + a.host + "' is not a host name or address";
                return std::nullopt;
            }
    }
    if (a.host.empty()) {
        problem = "'" + text + "' names no host";
        return std::nullopt;
    }
    if (!port_text.empty()) {
        bool digits = port_text.size() <= 5;
        for (char c : port_text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
        int port = digits ? std::stoi(port_text) : 0;
        if (port < 1 || port > 65535) {
            problem = "'" + text + "': the port must be a number from 1 to 65535";
            return std::nullopt;
        }
        a.port = port;
    }
    return a;
}

}  // namespace loopgate
