// What a stored batch costs on its way out in Sparkplug mode (uplink.format: sparkplug), split in
// the three steps SparkplugPublisher::publish takes: parse the stored loopgate.v1.Batch, turn its
// readings into Readings, and EdgeNode::process (aliases, seq, DDATA built and serialized). The
// parse is inherent (metric aliases and seq belong to the session, so the stored bytes cannot be
// Sparkplug already); the middle step is the one a view over the parsed batch would save.
// Batches as the line benchmark makes them: one device, a double with a unit and an int, alternating.
// Usage: loopgate_sparkplug_bench [runs]; medians of the runs per batch, and the share of the
// conversion also from each step's fastest run (less sensitive to a busy machine).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "gateway/sparkplug/sparkplug_node.hpp"
#include "gateway/store/batch_payload.hpp"

using namespace loopgate;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<Reading> batch_of(int n) {
    std::vector<Reading> rs;
    for (int i = 0; i < n; ++i) {
        Reading r;
        r.device = "ws1";
        r.metric = i % 2 ? "record" : "air_temperature";
        if (i % 2) {
            r.value = std::int64_t{i};
        } else {
            r.value = 21.25;
            r.unit = "degC";
        }
        r.receive_time_ns = 1'700'000'000'000'000'000 + i;
        r.sequence = static_cast<std::uint64_t>(i + 1);
        rs.push_back(r);
    }
    return rs;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double least(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

}  // namespace

int main(int argc, char** argv) {
    int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
    std::printf("%9s %7s %10s %14s %12s %10s %18s\n", "readings", "bytes", "parse us", "to Reading us", "process us", "share",
                "share (min runs)");
    for (int n : {2, 100, 1000}) {
        std::string payload = encode_batch("gw", 1, 1, batch_of(n));
        sparkplug::EdgeNode node("group", "edge");
        node.begin_session(1);
        node.birth(1);
        int reps = 2'000'000 / (n * 20) + 10;
        std::vector<double> parse, convert, process;
        for (int run = 0; run < runs + 1; ++run) {  // the first run warms up
            double p = 0, c = 0, q = 0;
            for (int k = 0; k < reps; ++k) {
                auto t0 = Clock::now();
                v1::Batch b;
                b.ParseFromString(payload);
                auto t1 = Clock::now();
                std::vector<Reading> readings;
                readings.reserve(static_cast<std::size_t>(b.readings_size()));
                for (const auto& r : b.readings()) readings.push_back(from_proto(r));
                auto t2 = Clock::now();
                auto messages = node.process(readings, false, 2);
                auto t3 = Clock::now();
                p += std::chrono::duration<double, std::micro>(t1 - t0).count();
                c += std::chrono::duration<double, std::micro>(t2 - t1).count();
                q += std::chrono::duration<double, std::micro>(t3 - t2).count();
            }
            if (run == 0) continue;
            parse.push_back(p / reps);
            convert.push_back(c / reps);
            process.push_back(q / reps);
        }
        double total = median(parse) + median(convert) + median(process);
        double least_total = least(parse) + least(convert) + least(process);
        std::printf("%9d %7zu %10.2f %14.2f %12.2f %9.1f%% %17.1f%%\n", n, payload.size(), median(parse),
                    median(convert), median(process), 100 * median(convert) / total,
                    100 * least(convert) / least_total);
    }
}
