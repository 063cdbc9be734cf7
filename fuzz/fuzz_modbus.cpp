// Feeds arbitrary bytes through the Modbus RTU frame parsers and through the whole modbus-rtu
// driver, as bus master (with fake time, timers and writes interleaved) and as passive monitor.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"
#include "drivers/modbus/point_map.hpp"
#include "drivers/modbus/poll_scheduler.hpp"

using namespace loopgate;

namespace {

const char* kConfig = R"(
settings: {response_timeout: 50ms, turnaround_delay: 20ms, retries: 1, max_gap: 4, offline_after: 2}
devices:
  - name: a
    unit: 1
    poll_interval: 100ms
    points:
      - {name: f, ref: 30001, type: float32, word_order: CDAB}
      - {name: d, ref: 30003, type: float64, word_order: DCBA, scale: 2}
      - {name: i, ref: 40001, type: int16, writable: true, min: -100, max: 100}
      - {name: s, ref: 40002, type: string, length: 3}
      - {name: b, ref: 40005, bit: 7}
      - {name: c, ref: 00001, writable: true}
      - {name: x, ref: 10001}
      - {name: u, ref: 40010, type: uint64, word_order: BADC, deadband: 1, writable: true}
  - name: b
    unit: 2
    poll_interval: 250ms
    points:
      - {name: v, ref: 40001, type: uint32, report_on_change: true}
  - name: all
    broadcast: true
    points:
      - {name: r, ref: 40100, writable: true}
)";

std::unique_ptr<Driver> make(const char* yaml, bool absent) {
    // Parsed once: YAML parsing would otherwise dominate every run.
    static std::map<const char*, ConfigNode> roots;
    auto it = roots.find(yaml);
    if (it == roots.end()) it = roots.emplace(yaml, ConfigNode::load_string(yaml, "fuzz.yaml")).first;
    const ConfigNode& root = it->second;
    ConfigNode none;
    DriverSpec spec{PortInfo{"fuzz", 9600, 8, false, 1}, absent ? none : root["settings"], absent ? none : root["devices"]};
    return make_modbus_driver(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    std::string error;
    (void)modbus::rtu::response_size(in);
    (void)modbus::rtu::request_size(in);
    if (auto r = modbus::rtu::parse_response(in, error)) {
        modbus::Request q{r->unit, r->function, r->address, r->value, {}, {}};
        (void)modbus::response_matches(q, *r, error);
    }
    (void)modbus::rtu::parse_request(in, error);
    if (size < 2) return 0;

    // First byte: driver flavour; then chunks of [control byte][payload]. The control byte gives the
    // chunk length, whether to append a valid CRC (so frames get past the check), and how much time
    // passes before it.
    const std::uint8_t mode = data[0] % 4;
    static const char* kMonitor = "settings: {mode: monitor}";
    std::unique_ptr<Driver> driver = mode == 3 ? make("", true)
                                     : mode == 2 ? make(kMonitor, false)
                                                 : make(kConfig, false);
    SteadyTime now{std::chrono::hours(1)};
    DriverOutput out;
    if (mode != 1) driver->on_open({now, 0}, out);  // mode 1: a master fed a capture without on_open
    std::size_t pos = 1;
    while (pos < size) {
        std::uint8_t ctl = data[pos++];
        std::size_t len = std::min<std::size_t>(ctl & 0x1F, size - pos);
        std::vector<std::uint8_t> chunk(data + pos, data + pos + len);
        pos += len;
        if (ctl & 0x20) modbus::append_crc(chunk);
        now += std::chrono::microseconds((ctl >> 6) * 1500);
        DriverOutput o;
        if (out.wake_at && *out.wake_at <= now) {
            driver->on_timer({now, 0}, o);
            out = std::move(o);
            o = {};
        }
        driver->on_bytes(chunk, {now, 0}, o);
        if ((ctl & 0xC0) == 0xC0) {
            const bool verify = ctl & 0x01;
            (void)driver->write_point({1, "a", "i", Value{std::int64_t{static_cast<std::int8_t>(ctl)}}, verify}, {now, 0}, o);
            (void)driver->write_point({2, "all", "r", Value{std::int64_t{1}}, verify}, {now, 0}, o);
            (void)driver->write_point({3, "a", "u", Value{static_cast<double>(ctl) * 1e17}, verify}, {now, 0}, o);
        }
        // Let the timers the driver asked for run, as the session would.
        for (int i = 0; i < 4 && o.wake_at; ++i) {
            now = std::max(now, *o.wake_at);
            DriverOutput t;
            driver->on_timer({now, 0}, t);
            o = std::move(t);
        }
        out = std::move(o);
    }
    DriverOutput closed;
    driver->on_close(closed);
    (void)driver->counters();
    return 0;
}
