// What the status page costs the data path with no page open: LiveValues::observe on every batch the
// ports hand up (the only work done per reading then; the event stream is skipped by one branch).
// Prints ns per reading, median of 7 runs of 1,000,000 readings in batches of two (a keyvalue record).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "gateway/ops/live_values.hpp"

int main() {
    using namespace loopgate;
    std::vector<double> runs;
    for (int run = 0; run < 7; ++run) {
        LiveValues live;
        std::vector<Reading> batch(2);
        batch[0].device = batch[1].device = "ws1";
        batch[0].metric = "air_temperature";
        batch[1].metric = "record";
        batch[0].unit = "degC";
        constexpr int readings = 1'000'000;
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < readings / 2; ++i) {
            batch[0].value = 21.25;
            batch[1].value = std::int64_t{i};
            batch[0].receive_time_ns = batch[1].receive_time_ns = 1'700'000'000'000'000'000 + i * 2'000'000LL;
            live.observe(batch);
        }
        auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        runs.push_back(ns / readings);
    }
    std::sort(runs.begin(), runs.end());
    std::printf("live_values_ns_per_reading %.1f\n", runs[runs.size() / 2]);
    std::printf("cpu_pct_at_1000_readings_per_s %.4f\n", runs[runs.size() / 2] * 1000 / 1e9 * 100);
    return 0;
}
