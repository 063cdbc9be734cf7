// Decode cost per driver: ns per frame and frames/s, plain std::chrono loops (no Google Benchmark).
//
// Each case builds its input once, then feeds it through a fresh driver (or the pure parser) in
// chunks of up to 4096 bytes, as the port session does with its read buffer. One warm-up run, then
// REPS timed runs; the median is reported. Usage: loopgate_decode_bench [reps] [fixtures_dir]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "drivers/line/line_driver.hpp"
#include "drivers/mbus/mbus_driver.hpp"
#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"
#include "drivers/nmea0183/ais_messages.hpp"
#include "drivers/nmea0183/ais_sixbit.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

using namespace loopgate;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::uint64_t sink_;  // keeps results alive

struct Result {
    double ns_per_frame;
    double frames_per_s;
    double readings_per_frame;
};

std::unique_ptr<Driver> make(const std::string& yaml, std::unique_ptr<Driver> (*factory)(const DriverSpec&)) {
    ConfigNode root = ConfigNode::load_string(yaml, "bench.yaml");
    DriverSpec spec;
    spec.port.name = "bench";
    spec.settings = root["settings"];
    spec.devices = root["devices"];
    return factory(spec);
}

// Feeds `input` through a fresh driver in 4096-byte reads; returns readings produced.
std::uint64_t feed(const std::function<std::unique_ptr<Driver>()>& factory, const std::string& input) {
    auto d = factory();
    std::uint64_t readings = 0;
    auto* p = reinterpret_cast<const std::uint8_t*>(input.data());
    std::size_t left = input.size();
    std::int64_t t = 0;
    DriverOutput out;
    while (left) {
        std::size_t n = std::min<std::size_t>(left, 4096);
        // Time advances 1 s per read so decimation and timeouts never hold readings back.
        DriverClock now{SteadyTime(std::chrono::seconds(++t)), 1'700'000'000'000'000'000 + t * 1'000'000'000};
        d->on_bytes(std::span(p, n), now, out);
        readings += out.readings.size();
        out.readings.clear();
        out.to_write.clear();
        p += n;
        left -= n;
    }
    return readings;
}

Result measure(const char* name, std::uint64_t frames, int reps, const std::function<std::uint64_t()>& run) {
    std::uint64_t readings = run();  // warm-up
    std::vector<double> ns;
    for (int i = 0; i < reps; ++i) {
        auto t0 = Clock::now();
        sink_ = run();
        ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
    std::sort(ns.begin(), ns.end());
    double med = ns[ns.size() / 2];
    Result r{med / static_cast<double>(frames), 1e9 * static_cast<double>(frames) / med,
             static_cast<double>(readings) / static_cast<double>(frames)};
    std::printf("%-34s %10llu %9.0f %12.0f %12.0f %8.2f  (min %.0f, max %.0f ns/frame)\n", name,
                static_cast<unsigned long long>(frames), r.ns_per_frame, r.frames_per_s,
                r.frames_per_s * r.readings_per_frame, r.readings_per_frame, ns.front() / static_cast<double>(frames),
                ns.back() / static_cast<double>(frames));
    return r;
}

const char* kv_yaml = R"(
settings:
  format: keyvalue
  terminator: "\r\n"
  fields:
    - {field: T, metric: air_temperature, unit: degC}
    - {field: H, metric: humidity, type: int, unit: "%"}
    - {field: P, metric: pressure, unit: hPa}
    - {field: N, metric: record, type: int}
devices: [{name: ws1}]
)";

const char* regex_yaml = R"(
settings:
  format: regex
  terminator: "\r\n"
  regex: '^\$WX,(?<dir>\d+),(?:[A-Z]),(?<speed>[0-9.]+)'
  fields:
    - {field: speed, metric: wind_speed, unit: m/s}
    - {field: dir, metric: wind_direction, type: int, unit: deg}
devices: [{name: anemo}]
)";

}  // namespace

int main(int argc, char** argv) {
    int reps = argc > 1 ? std::atoi(argv[1]) : 7;
    std::string fixtures = argc > 2 ? argv[2] : LOOPGATE_FIXTURES_DIR;
    std::printf("%-34s %10s %9s %12s %12s %8s\n", "case", "frames", "ns/frame", "frames/s", "readings/s", "rd/frame");

    // line, keyvalue: 4 fields per record.
    {
        const std::uint64_t n = 200'000;
        std::string in;
        for (std::uint64_t i = 0; i < n; ++i)
            in += "T=21." + std::to_string(i % 10) + " H=" + std::to_string(40 + i % 20) + " P=1013.2 N=" +
                  std::to_string(i) + "\r\n";
        measure("line keyvalue (4 fields)", n, reps, [&] { return feed([] { return make(kv_yaml, make_line_driver); }, in); });
    }
    // line, regex: 2 named groups per record.
    {
        const std::uint64_t n = 50'000;
        std::string in;
        for (std::uint64_t i = 0; i < n; ++i)
            in += "$WX," + std::to_string(i % 360) + ",N," + std::to_string(i % 30) + ".5\r\n";
        measure("line regex (2 groups)", n, reps, [&] { return feed([] { return make(regex_yaml, make_line_driver); }, in); });
    }
    // nmea0183: every recorded capture, concatenated, comment lines dropped.
    {
        std::string in;
        std::uint64_t n = 0;
        std::vector<std::filesystem::path> logs;
        for (auto& e : std::filesystem::directory_iterator(fixtures + "/nmea"))
            if (e.path().extension() == ".log") logs.push_back(e.path());
        std::sort(logs.begin(), logs.end());
        for (auto& p : logs) {
            std::ifstream f(p);
            std::string line;
            while (std::getline(f, line)) {
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line.empty() || (line[0] != '$' && line[0] != '!')) continue;
                in += line + "\r\n";
                ++n;
            }
        }
        std::string big;
        int copies = 5;
        for (int i = 0; i < copies; ++i) big += in;
        std::printf("# nmea input: %zu captures, %llu sentences x %d copies, %zu bytes\n", logs.size(),
                    static_cast<unsigned long long>(n), copies, big.size());
        measure("nmea0183 (fixture replay)", n * copies, reps, [&] {
            return feed([] {
                DriverSpec spec;
                spec.port.name = "gps";
                return make_nmea_driver(spec);
            }, big);
        });
    }
    // nmea0183, AIS: the AIS sentences of every gpsd-ais capture beside the fixtures (fieldtruth),
    // whole driver (framing, checksum, reassembly, decode, vessel table, readings), then the message
    // decoder alone on the single-sentence payloads.
    {
        const std::string truth = fixtures + "/../fieldtruth/gpsd-ais";
        std::string in;
        std::uint64_t n = 0;
        std::vector<std::string> payloads;
        std::vector<std::filesystem::path> logs;
        if (std::filesystem::is_directory(truth))
            for (auto& e : std::filesystem::directory_iterator(truth))
                if (e.path().extension() == ".log") logs.push_back(e.path());
        std::sort(logs.begin(), logs.end());
        for (auto& p : logs) {
            std::ifstream f(p);
            std::string line;
            while (std::getline(f, line)) {
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line.empty() || line[0] != '!') continue;
                in += line + "\r\n";
                ++n;
                auto parsed = nmea::parse_sentence(line, false);
                if (parsed.status == nmea::SentenceStatus::ok && parsed.sentence.field(1) == "1" &&
                    parsed.sentence.field(6) == "0")
                    payloads.emplace_back(parsed.sentence.field(5));
            }
        }
        if (n > 0) {
            std::string big;
            int copies = 10;
            for (int i = 0; i < copies; ++i) big += in;
            std::printf("# ais input: %zu captures, %llu AIS sentences x %d copies, %zu bytes\n", logs.size(),
                        static_cast<unsigned long long>(n), copies, big.size());
            measure("nmea0183 AIS (gpsd-ais replay)", n * copies, reps, [&] {
                return feed([] {
                    DriverSpec spec;
                    spec.port.name = "ais";
                    return make_nmea_driver(spec);
                }, big);
            });
            const std::uint64_t m = 200'000;
            measure("ais decode_message (pure, 1 sentence)", m, reps, [&] {
                std::uint64_t readings = 0;
                for (std::uint64_t i = 0; i < m; ++i) {
                    auto bits = nmea::ais::SixBits::from_armoured(payloads[i % payloads.size()], 0);
                    if (bits) readings += nmea::ais::decode_message(*bits).readings.size();
                }
                return readings;
            });
        } else {
            std::printf("# ais: no captures at %s\n", truth.c_str());
        }
    }
    // modbus-rtu: read-10-holding-registers transactions as a bus monitor sees them.
    {
        using namespace loopgate::modbus;
        const std::uint64_t n = 100'000;
        std::string in;
        std::vector<std::vector<std::uint8_t>> responses;
        for (std::uint64_t i = 0; i < n; ++i) {
            std::uint8_t unit = static_cast<std::uint8_t>(1 + i % 8);
            auto req = rtu::frame(read_request(unit, Table::holding, 100, 10));
            std::vector<std::uint8_t> rsp{unit, fc::read_holding_registers, 20};
            for (int r = 0; r < 10; ++r) {
                std::uint16_t v = static_cast<std::uint16_t>(i + r);
                rsp.push_back(static_cast<std::uint8_t>(v >> 8));
                rsp.push_back(static_cast<std::uint8_t>(v));
            }
            append_crc(rsp);
            in.append(req.begin(), req.end());
            in.append(rsp.begin(), rsp.end());
            if (responses.size() < 1000) responses.push_back(rsp);
        }
        measure("modbus-rtu monitor (req+rsp, 10 reg)", n, reps, [&] {
            return feed([] {
                DriverSpec spec;  // no settings, no devices: raw monitor
                spec.port.name = "bus";
                return make_modbus_driver(spec);
            }, in);
        });
        const std::uint64_t m = 1'000'000;
        measure("modbus rtu::parse_response (pure, 25 B)", m, reps, [&] {
            std::uint64_t regs = 0;
            std::string error;
            for (std::uint64_t i = 0; i < m; ++i) {
                auto r = rtu::parse_response(responses[i % responses.size()], error);
                regs += r ? r->registers.size() : 0;
            }
            return regs;
        });
    }
    // mbus: libmbus's 76 recorded meter answers (fieldtruth beside the fixtures), each behind its
    // REQ_UD2, decoded by the passive driver as `loopgate decode --driver mbus` does.
    {
        std::string in;
        std::uint64_t n = 0;
        std::filesystem::path frames = std::filesystem::path(fixtures) / ".." / "fieldtruth" / "libmbus" / "test-frames";
        std::vector<std::filesystem::path> files;
        if (std::filesystem::exists(frames))
            for (auto& e : std::filesystem::directory_iterator(frames))
                if (e.path().extension() == ".hex") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (auto& p : files) {
            std::ifstream f(p);
            std::string byte;
            in += std::string("\x10\x7B\x01\x7C\x16", 5);
            while (f >> byte) in += static_cast<char>(std::stoul(byte, nullptr, 16));
            ++n;
        }
        if (n) {
            std::string big;
            int copies = 200;
            for (int i = 0; i < copies; ++i) big += in;
            std::printf("# mbus input: %llu libmbus test frames x %d copies, %zu bytes\n",
                        static_cast<unsigned long long>(n), copies, big.size());
            measure("mbus passive (libmbus frames)", n * copies, reps, [&] {
                return feed([] {
                    DriverSpec spec;
                    spec.port.name = "mbus";
                    return make_mbus_driver(spec);
                }, big);
            });
        }
    }
    return 0;
}
