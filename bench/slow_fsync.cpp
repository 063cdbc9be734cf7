// LD_PRELOAD shim for the benchmark: every fsync/fdatasync takes LGBENCH_FSYNC_DELAY_US longer, as
// on an SD card or a busy disk. This shared VM's disk answers an fdatasync in anything from 0.1 to
// 10 ms depending on its neighbours; fsync-bound figures are only comparable from one run to the
// next with a known floor under them.
#include <dlfcn.h>

#include <cstdlib>
#include <ctime>

namespace {

long delay_us() {
    static const long us = [] {
        const char* v = std::getenv("LGBENCH_FSYNC_DELAY_US");
        return v ? std::atol(v) : 0L;
    }();
    return us;
}

void pause_for_disk() {
    if (delay_us() <= 0) return;
    timespec t{delay_us() / 1'000'000, (delay_us() % 1'000'000) * 1000};
    while (nanosleep(&t, &t) != 0) {
    }
}

template <typename F>
F real(const char* name) {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fdatasync(int fd) {
    static auto call = real<int (*)(int)>("fdatasync");
    int rc = call(fd);
    pause_for_disk();
    return rc;
}

extern "C" int fsync(int fd) {
    static auto call = real<int (*)(int)>("fsync");
    int rc = call(fd);
    pause_for_disk();
    return rc;
}
