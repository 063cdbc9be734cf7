// LD_PRELOAD shim: modem control lines on a pseudo-terminal, which has none (TIOCMGET fails there),
// so that software RS-485 direction control (rs485.mode: rts) can run on a pty in tests. Every RTS
// change is appended to the file named by LOOPGATE_RTS_LOG as "<0|1> <CLOCK_MONOTONIC ns>".
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using Ioctl = int (*)(int, unsigned long, ...);
int modem_bits = 0;

void log_rts(bool on) {
    static const char* const path = std::getenv("LOOPGATE_RTS_LOG");
    if (path == nullptr) return;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[64];
    int n = std::snprintf(line, sizeof line, "%d %lld\n", on ? 1 : 0,
                          static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec);
    int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ssize_t written = ::write(fd, line, static_cast<std::size_t>(n));
    (void)written;
    ::close(fd);
}

}  // namespace

extern "C" int ioctl(int fd, unsigned long request, ...) {
    static const auto real = reinterpret_cast<Ioctl>(dlsym(RTLD_NEXT, "ioctl"));
    va_list args;
    va_start(args, request);
    void* arg = va_arg(args, void*);
    va_end(args);
    if (request == TIOCMGET || request == TIOCMBIS || request == TIOCMBIC) {
        int* bits = static_cast<int*>(arg);
        if (request == TIOCMGET) {
            *bits = modem_bits;
        } else {
            int before = modem_bits;
            modem_bits = request == TIOCMBIS ? (modem_bits | *bits) : (modem_bits & ~*bits);
            if ((before ^ modem_bits) & TIOCM_RTS) log_rts((modem_bits & TIOCM_RTS) != 0);
        }
        return 0;
    }
    return real(fd, request, arg);
}
