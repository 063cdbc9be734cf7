#pragma once
// Why a TLS connection to the broker fails, in words an operator can act on.
//
// Paho reports a failed TLS connect only as a generic error code, so after one, a separate OpenSSL
// handshake with the same CA, client certificate and host name says what went wrong: "certificate
// verify failed: certificate has expired", "sslv3 alert certificate expired", "tlsv1 alert unknown
// ca"... Blocking (bounded by `timeout_ms`): run it off the event loop.

#include <string>

namespace loopgate {

struct TlsProbe {
    std::string host;
    int port = 8883;
    std::string ca_file, cert_file, key_file;
    bool verify = true;
    int timeout_ms = 3000;
};

// "" when the handshake (and a first read) succeed; otherwise the reason.
std::string probe_tls(const TlsProbe& probe);

// Host and port out of ssl://host:port (mqtts:// too); false when the URI has no host.
bool parse_broker_uri(const std::string& uri, std::string& host, int& port);

}  // namespace loopgate
