// Report by exception on recorded and simulated traces: readings in, readings out, and the filter's
// cost per reading. Usage: loopgate_report_bench [fixtures_dir]
//
//  - NMEA: a real u-blox ZED-F9P capture (shared fixtures) through the nmea0183 driver, one epoch per
//    RMC sentence taken as one second; settings: deadband 0.00001 (about a metre in degrees, a tenth of
//    a metre in altitude) and max_silence 60s on the device.
//  - Meter: a simulated three-phase meter polled every 100 ms for an hour: voltages 230 V with
//    0.3 V of noise and a slow 4 V swing, frequency 50 Hz with 0.01 Hz noise, energy counting up;
//    settings: voltage deadband 0.5 V, frequency 0.05 Hz, energy 1 kWh, max_silence 60s.
// The filter runs on a fake clock, so the figures do not depend on the machine; the time per reading
// does (std::chrono over the whole trace, median of 5). `loopgate_report_bench DIR N` runs only case N (0-4)
// once, for valgrind --tool=callgrind --toggle-collect='loopgate::ReportFilter::*'.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "drivers/nmea0183/nmea_driver.hpp"
#include "gateway/report/report_filter.hpp"

using namespace loopgate;
using namespace std::chrono_literals;
using Steady = ReportFilter::Steady;

namespace {

struct Trace {
    std::vector<std::pair<Steady, Reading>> readings;  // in arrival order
};

Trace nmea_trace(const std::string& file) {
    std::ifstream in(file);
    ConfigNode none;
    DriverSpec spec{PortInfo{"gps"}, none, none};
    auto driver = make_nmea_driver(spec);
    Trace t;
    Steady now = Steady{} + 1h;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.size() > 6 && line.compare(3, 3, "RMC") == 0) now += 1s;
        line += "\r\n";
        DriverOutput out;
        DriverClock clock{now, 0};
        driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()), clock, out);
        for (Reading& r : out.readings) t.readings.emplace_back(now, std::move(r));
    }
    return t;
}

Trace meter_trace() {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> volts_noise(0, 0.3), hz_noise(0, 0.01);
    Trace t;
    Steady start = Steady{} + 1h;
    double energy = 1000;
    for (int poll = 0; poll < 36000; ++poll) {
        Steady now = start + poll * 100ms;
        double swing = 4 * std::sin(poll / 6000.0);
        auto add = [&](const char* metric, double v) {
            Reading r;
            r.device = "meter";
            r.metric = metric;
            r.value = v;
            t.readings.emplace_back(now, r);
        };
        add("voltage_l1", 230 + swing + volts_noise(rng));
        add("voltage_l2", 230 + swing + volts_noise(rng));
        add("voltage_l3", 230 + swing + volts_noise(rng));
        add("frequency", 50 + hz_noise(rng));
        energy += 0.0005;  // 18 kW
        add("energy", energy);
    }
    return t;
}

struct Run {
    std::size_t in = 0, out = 0;
    double ns_per_reading = 0;
};

int reps = 5;

Run run(const Trace& trace, const std::map<std::string, DeviceReport>& plan) {
    std::vector<double> times;
    Run r;
    for (int rep = 0; rep < reps; ++rep) {
        ReportFilter f;
        f.configure(plan, trace.readings.front().first);
        std::size_t out = 0;
        auto t0 = std::chrono::steady_clock::now();
        std::vector<Reading> one;
        // As the report stage drives it: a timer armed at the earliest due time it was told about.
        std::optional<Steady> armed = f.next_due();
        for (const auto& [at, reading] : trace.readings) {
            if (armed && *armed <= at) {
                std::vector<Reading> timer;
                f.on_timer(at, 0, timer);
                out += timer.size();
                armed = f.next_due();
            }
            one.assign(1, reading);
            f.submit(one, at);
            out += one.size();
            if (auto hint = f.take_due_hint(); hint && (!armed || *hint < *armed)) armed = hint;
        }
        auto t1 = std::chrono::steady_clock::now();
        times.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(trace.readings.size()));
        r.out = out;
    }
    std::sort(times.begin(), times.end());
    r.in = trace.readings.size();
    r.ns_per_reading = times[times.size() / 2];
    return r;
}

void print(const char* name, const char* settings, const Run& r) {
    std::printf("%-6s %-52s in %7zu  out %7zu  (%5.1f %%)  %6.0f ns/reading\n", name, settings, r.in, r.out,
                100.0 * static_cast<double>(r.out) / static_cast<double>(r.in), r.ns_per_reading);
}

}  // namespace

int main(int argc, char** argv) {
    std::string fixtures = argc > 1 ? argv[1] : LOOPGATE_FIXTURES_DIR;
    Trace gps = nmea_trace(fixtures + "/nmea/ublox-zed-f9p-nmea.log");
    Trace meter = meter_trace();
    if (gps.readings.empty()) {
        std::fprintf(stderr, "no readings from %s/nmea/ublox-zed-f9p-nmea.log\n", fixtures.c_str());
        return 1;
    }

    std::map<std::string, DeviceReport> none;
    DeviceReport pass;  // the device is in the plan, nothing set: the cost of looking it up
    pass.offline_after_silence_ms = 3'600'000;

    DeviceReport gps_typical;
    gps_typical.policy.deadband = Deadband{0.00001, false};
    gps_typical.policy.max_silence_ms = 60'000;

    DeviceReport meter_typical;
    meter_typical.policy.max_silence_ms = 60'000;
    for (const char* v : {"voltage_l1", "voltage_l2", "voltage_l3"}) {
        meter_typical.metrics[v] = meter_typical.policy;
        meter_typical.metrics[v].deadband = Deadband{0.5, false};
    }
    meter_typical.metrics["frequency"] = meter_typical.policy;
    meter_typical.metrics["frequency"].deadband = Deadband{0.05, false};
    meter_typical.metrics["energy"] = meter_typical.policy;
    meter_typical.metrics["energy"].deadband = Deadband{1, false};

    int only = argc > 2 ? std::atoi(argv[2]) : -1;
    if (only >= 0) reps = 1;
    auto want = [&](int n) { return only < 0 || only == n; };
    if (want(0)) print("gps", "no filter", run(gps, none));
    if (want(1)) print("gps", "in the plan, nothing set", run(gps, {{"gps", pass}}));
    if (want(2)) print("gps", "deadband 0.00001, max_silence 60s", run(gps, {{"gps", gps_typical}}));
    if (want(3)) print("meter", "no filter", run(meter, none));
    if (want(4)) print("meter", "deadband 0.5 V / 0.05 Hz / 1 kWh, max_silence 60s", run(meter, {{"meter", meter_typical}}));
}
