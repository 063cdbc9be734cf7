#pragma once
// The broker's host name must be in its certificate's subjectAltName (RFC 6125; README "Security").
//
// Paho C checks the host name itself after the handshake, with X509_check_host(..., flags 0), and
// with flags 0 OpenSSL falls back to the subject's common name when the certificate has no DNS
// subjectAltName: a CN-only certificate for the host would be accepted. Paho 1.3 offers no hook into
// its SSL_CTX, so the loopgate binary defines X509_check_host itself (gateway/uplink/tls_host_check.cpp):
// the dynamic linker binds Paho's call to it, and it calls OpenSSL's with
// X509_CHECK_FLAG_NEVER_CHECK_SUBJECT added.

#include <string>

namespace loopgate {

// "" when Paho's host name check goes through the SAN-only wrapper; otherwise why it does not (the
// binary was linked without exporting it). Checked before every TLS connection is configured.
std::string san_only_host_check_problem();

}  // namespace loopgate
