// loopgate keygen --out PREFIX: a new Ed25519 key pair, PREFIX.key (PKCS#8 PEM, mode 0600) and
// PREFIX.pub (PEM). Existing files are never overwritten.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "cli/commands.hpp"
#include "gateway/security/ed25519.hpp"

namespace loopgate::commands {

const char* const keygen_usage =
    "usage: loopgate keygen --out PREFIX\n"
    "\n"
    "Makes a new Ed25519 key pair for signing.key_file and commands.operator_keys, and prints its\n"
    "key id. Existing files are never overwritten.\n"
    "\n"
    "options:\n"
    "  --out PREFIX    write PREFIX.key (private, mode 0600) and PREFIX.pub (required)\n";

namespace {
void write_new_file(const std::string& path, const std::string& text, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    ::fchmod(fd, mode);  // whatever the umask
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}
}  // namespace

int keygen(const Args& args) {
    allow_only(args, {"--out"}, {});
    std::string prefix = option(args, "--out");
    if (prefix.empty()) throw std::invalid_argument("--out PREFIX is required");
    ed25519::Key key = ed25519::Key::generate();
    write_new_file(prefix + ".key", key.private_pem(), 0600);
    write_new_file(prefix + ".pub", key.public_pem(), 0644);
    std::printf("wrote %s.key (private, mode 0600) and %s.pub; key id %s\n", prefix.c_str(), prefix.c_str(),
                key.id().c_str());
    return 0;
}

}  // namespace loopgate::commands
