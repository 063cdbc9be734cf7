// What this machine charges for the things a low-rate poll does a few times each: a system call, a
// timer re-arm, and a thread woken from sleep by another thread (an eventfd, as Asio's post() and
// Paho's queue use). On a virtual machine with the usual side-channel mitigations these, not the
// gateway's instructions, set the CPU cost per poll (docs/BENCHMARKS.md, "Where a poll's CPU goes").
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <thread>

namespace {

double thread_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main() {
    constexpr int calls = 200000;
    double start = thread_cpu_s();
    for (int i = 0; i < calls; ++i) (void)getppid();
    std::printf("syscall_us %.2f\n", (thread_cpu_s() - start) / calls * 1e6);

    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    start = thread_cpu_s();
    for (int i = 0; i < calls; ++i) {
        itimerspec spec{};
        spec.it_value.tv_sec = 1;
        spec.it_value.tv_nsec = i % 1000000;
        timerfd_settime(timer, 0, &spec, nullptr);
    }
    std::printf("timer_rearm_us %.2f\n", (thread_cpu_s() - start) / calls * 1e6);
    close(timer);

    // A round trip after a 2 ms sleep: both threads wake cold, as a 100 ms poll's threads do.
    constexpr int rounds = 2000;
    int ping = eventfd(0, 0), pong = eventfd(0, 0);
    double peer_cpu = 0;
    std::thread peer([&] {
        double begin = thread_cpu_s();
        std::uint64_t v = 0;
        for (int i = 0; i < rounds; ++i) {
            if (read(ping, &v, sizeof v) != sizeof v) return;
            v = 1;
            if (write(pong, &v, sizeof v) != sizeof v) return;
        }
        peer_cpu = thread_cpu_s() - begin;
    });
    start = thread_cpu_s();
    std::uint64_t v = 1;
    for (int i = 0; i < rounds; ++i) {
        usleep(2000);
        v = 1;
        if (write(ping, &v, sizeof v) != sizeof v || read(pong, &v, sizeof v) != sizeof v) return 1;
    }
    double own_cpu = thread_cpu_s() - start;
    peer.join();
    std::printf("timer_wake_us %.1f\n", own_cpu / rounds * 1e6);      // woken by its own sleep's timer, wakes the peer, waits
    std::printf("thread_wake_us %.1f\n", peer_cpu / rounds * 1e6);    // woken by another thread, answers, waits
    close(ping);
    close(pong);
}
