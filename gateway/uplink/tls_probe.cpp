#include "gateway/uplink/tls_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace loopgate {

namespace {

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    if (e == 0) return {};
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000418:SSL routines::tlsv1 alert unknown ca" -> "tlsv1 alert unknown ca"
    std::string s = buf;
    auto pos = s.rfind(':');
    return pos == std::string::npos ? s : s.substr(pos + 1);
}

int connect_with_timeout(const std::string& host, int port, int timeout_ms, std::string& why) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
        why = "cannot resolve " + host + ": " + ::gai_strerror(rc);
        return -1;
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
    int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = std::strerror(errno);
        return -1;
    }
    if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
        why = std::string("TCP connect failed: ") + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        why = std::string("TCP connect failed: ") + (err ? std::strerror(err) : "timed out");
        ::close(fd);
        return -1;
    }
    // Blocking from here on, with timeouts, so the handshake below cannot hang.
    ::fcntl(fd, F_SETFL, 0);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

}  // namespace

bool parse_broker_uri(const std::string& uri, std::string& host, int& port) {
    auto scheme = uri.find("://");
    std::string rest = scheme == std::string::npos ? uri : uri.substr(scheme + 3);
    auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    port = 8883;
    if (colon != std::string::npos) {
        try {
            port = std::stoi(rest.substr(colon + 1));
        } catch (const std::exception&) {
            return false;
        }
    }
    return !host.empty();
}

std::string probe_tls(const TlsProbe& probe) {
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx) return "cannot create a TLS context";
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (!probe.ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), probe.ca_file.c_str(), nullptr) != 1)
        return "cannot load CA file " + probe.ca_file + ": " + openssl_error();
    if (probe.ca_file.empty()) SSL_CTX_set_default_verify_paths(ctx.get());
    if (!probe.cert_file.empty() && SSL_CTX_use_certificate_chain_file(ctx.get(), probe.cert_file.c_str()) != 1)
        return "cannot load client certificate " + probe.cert_file + ": " + openssl_error();
    if (!probe.key_file.empty() && SSL_CTX_use_PrivateKey_file(ctx.get(), probe.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        return "cannot load client key " + probe.key_file + ": " + openssl_error();
    SSL_CTX_set_verify(ctx.get(), probe.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

    std::string why;
    int fd = connect_with_timeout(probe.host, probe.port, probe.timeout_ms, why);
    if (fd < 0) return why;
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), fd);
    SSL_set_tlsext_host_name(ssl.get(), probe.host.c_str());
    if (probe.verify) {
        // As the uplink checks it (gateway/uplink/tls_host_check.hpp): the subject CN never names the host.
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        if (X509_VERIFY_PARAM_set1_ip_asc(param, probe.host.c_str()) != 1) SSL_set1_host(ssl.get(), probe.host.c_str());
    }
    std::string result;
    if (SSL_connect(ssl.get()) != 1) {
        long verify = SSL_get_verify_result(ssl.get());
        std::string err = openssl_error();
        if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            X509* peer = SSL_get0_peer_certificate(ssl.get());
            bool has_san = peer && X509_get_ext_by_NID(peer, NID_subject_alt_name, -1) >= 0;
            result = "certificate verify failed: host '" + probe.host + "' is not in the server certificate's "
                     "subjectAltName" + (has_san ? std::string() : " (it has none; its subject CN is not used)");
        } else if (verify != X509_V_OK)
            result = "certificate verify failed: " + std::string(X509_verify_cert_error_string(verify));
        else
            result = err.empty() ? "the broker closed the connection during the handshake" : err;
    } else {
        // With TLS 1.3 the broker judges the client certificate after the handshake: its alert
        // arrives on the first read.
        char byte;
        int n = SSL_read(ssl.get(), &byte, 1);
        if (n <= 0) {
            int e = SSL_get_error(ssl.get(), n);
            std::string err = openssl_error();
            if (!err.empty()) result = err;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_SYSCALL) result = "";
        }
    }
    ::close(fd);
    return result;
}

}  // namespace loopgate
