// The Modbus master's own CPU per polled reading, RTU framing against TCP (MBAP) framing: one
// device, ten uint16 points in one read of ten holding registers, each request answered at once by
// a precomputed answer (the TCP one with the request's transaction id), timers run as the port
// session runs them, on a fake clock. No I/O: what the driver and its framing cost, which the
// end-to-end figures (bench/modbus_tcp_cpu.py) add to the transport's.
// Usage: loopgate_modbus_poll_bench [polls] [reps]; prints ns of thread CPU per reading, min and median.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_tcp/modbus_tcp_driver.hpp"

using namespace loopgate;

namespace {

double thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

std::string config() {
    std::string y = "settings: {response_timeout: 500ms, retries: 1}\ndevices:\n  - name: meter\n    unit: 1\n"
                    "    poll_interval: 10ms\n    points:\n";
    for (int a = 0; a < 10; ++a)
        y += "      - {name: r" + std::to_string(a) + ", table: holding, address: " + std::to_string(a) + ", type: uint16}\n";
    return y;
}

// ns of thread CPU per reading over `polls` answered polls.
double run(bool tcp, int polls) {
    ConfigNode root = ConfigNode::load_string(config(), "bench.yaml");
    DriverSpec spec{PortInfo{"bench", 19200, 8, false, 1}, root["settings"], root["devices"]};
    auto driver = tcp ? make_modbus_tcp_driver(spec) : make_modbus_driver(spec);
    std::vector<std::uint8_t> pdu{0x03, 20};
    for (int a = 0; a < 10; ++a) {
        pdu.push_back(0x03);
        pdu.push_back(static_cast<std::uint8_t>(0xE8 + a));
    }
    std::vector<std::uint8_t> answer;
    if (tcp) {
        answer = {0, 0, 0, 0, 0, static_cast<std::uint8_t>(1 + pdu.size()), 1};
        answer.insert(answer.end(), pdu.begin(), pdu.end());
    } else {
        answer = {1};
        answer.insert(answer.end(), pdu.begin(), pdu.end());
        modbus::append_crc(answer);
    }
    SteadyTime now{std::chrono::hours(1)};
    std::int64_t wall = 1'700'000'000'000'000'000;
    DriverOutput out;
    driver->on_open({now, wall}, out);
    std::size_t readings = 0;
    double start = thread_cpu_ns();
    for (int i = 0; i < polls; ++i) {
        while (out.to_write.empty()) {
            if (!out.wake_at) return -1;
            now = std::max(now, *out.wake_at);
            out = {};
            driver->on_timer({now, wall}, out);
        }
        if (tcp) {
            answer[0] = out.to_write[0];
            answer[1] = out.to_write[1];
        }
        now += std::chrono::milliseconds(1);
        DriverOutput next;
        driver->on_bytes(answer, {now, wall}, next);
        readings += next.readings.size();
        out = std::move(next);
    }
    double spent = thread_cpu_ns() - start;
    if (driver->counters().at("responses_ok") != static_cast<std::uint64_t>(polls)) return -1;
    return spent / static_cast<double>(readings);
}

}  // namespace

int main(int argc, char** argv) {
    int polls = argc > 1 ? std::atoi(argv[1]) : 200000;
    int reps = argc > 2 ? std::atoi(argv[2]) : 7;
    for (bool tcp : {false, true}) {
        std::vector<double> ns;
        run(tcp, polls / 10);  // warm-up
        for (int r = 0; r < reps; ++r) ns.push_back(run(tcp, polls));
        std::sort(ns.begin(), ns.end());
        if (ns.front() < 0) {
            std::printf("%s: the driver stopped polling or answers were not taken\n", tcp ? "tcp" : "rtu");
            return 1;
        }
        std::printf("modbus_%s_ns_per_reading_min %.1f\nmodbus_%s_ns_per_reading_median %.1f\n", tcp ? "tcp" : "rtu",
                    ns.front(), tcp ? "tcp" : "rtu", ns[ns.size() / 2]);
    }
    return 0;
}
