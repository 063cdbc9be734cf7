#include "gateway/uplink/tls_host_check.hpp"

#include <dlfcn.h>
#include <openssl/x509v3.h>

namespace {

using CheckHost = int (*)(X509*, const char*, std::size_t, unsigned int, char**);

CheckHost openssl_check_host() {
    static const CheckHost real = reinterpret_cast<CheckHost>(::dlsym(RTLD_NEXT, "X509_check_host"));
    return real;
}

}  // namespace

// Interposes OpenSSL's X509_check_host for the whole process (Paho's post-handshake check, and
// OpenSSL's own when verifying a host set with SSL_set1_host): the subject CN never names a host.
extern "C" int X509_check_host(X509* x, const char* chk, std::size_t chklen, unsigned int flags, char** peername) {
    CheckHost real = openssl_check_host();
    if (!real) return -1;  // an internal error: every caller treats it as "no match"
    return real(x, chk, chklen, flags | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, peername);
}

namespace loopgate {

std::string san_only_host_check_problem() {
    if (!openssl_check_host()) return "OpenSSL's X509_check_host cannot be found";
    void* bound = ::dlsym(RTLD_DEFAULT, "X509_check_host");
    if (bound != reinterpret_cast<void*>(&X509_check_host))
        return "the binary does not export its X509_check_host wrapper, so Paho would accept a certificate naming "
               "the host only in its subject CN";
    return {};
}

}  // namespace loopgate
