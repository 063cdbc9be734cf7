// LD_PRELOAD shim: adjtimex() fails with EPERM, as under systemd's ProtectClock=yes and
// SystemCallFilter=~@clock (SystemCallErrorNumber=EPERM), for tests that run without systemd.
#include <sys/timex.h>

#include <cerrno>

extern "C" int adjtimex(struct timex*) {
    errno = EPERM;
    return -1;
}
