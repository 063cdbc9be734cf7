// Feeds arbitrary bytes through the MBAP decoder and through the whole modbus-tcp driver (fake time,
// timers and writes interleaved, several requests in flight), with chunks that may carry the
// transaction id of the last request so answers get past the pairing.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "drivers/modbus_tcp/mbap_frame.hpp"
#include "drivers/modbus_tcp/modbus_tcp_driver.hpp"

using namespace loopgate;

namespace {

const char* kConfig = R"(
settings: {response_timeout: 50ms, retries: 1, max_gap: 4, offline_after: 2, max_in_flight: 3}
devices:
  - name: a
    unit: 1
    poll_interval: 100ms
    points:
      - {name: f, ref: 30001, type: float32, word_order: CDAB}
      - {name: i, ref: 40001, type: int16, writable: true, min: -100, max: 100}
      - {name: s, ref: 40002, type: string, length: 3}
      - {name: c, ref: 00001, writable: true}
      - {name: x, ref: 10001}
  - name: b
    unit: 255
    poll_interval: 250ms
    points:
      - {name: v, ref: 40001, type: uint32}
)";

std::unique_ptr<Driver> make() {
    static const ConfigNode root = ConfigNode::load_string(kConfig, "fuzz.yaml");
    DriverSpec spec{PortInfo{"fuzz", 9600, 8, false, 1}, root["settings"], root["devices"]};
    return make_modbus_tcp_driver(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    std::string error;
    modbus::tcp::Header header;
    (void)modbus::tcp::adu_size(in);
    (void)modbus::tcp::parse_response(in, header, error);
    (void)modbus::tcp::parse_request(in, header, error);
    if (size < 2) return 0;

    // Chunks of [control byte][payload]: the control byte gives the length, whether the chunk's
    // first two bytes become the transaction id of the last request written, and how much time
    // passes before it.
    std::unique_ptr<Driver> driver = make();
    SteadyTime now{std::chrono::hours(1)};
    DriverOutput out;
    driver->on_open({now, 0}, out);
    std::vector<std::uint8_t> last_request = out.to_write;
    std::size_t pos = 0;
    while (pos < size) {
        std::uint8_t ctl = data[pos++];
        std::size_t len = std::min<std::size_t>(ctl & 0x1F, size - pos);
        std::vector<std::uint8_t> chunk(data + pos, data + pos + len);
        pos += len;
        if ((ctl & 0x20) && chunk.size() >= 2 && last_request.size() >= 2) {
            chunk[0] = last_request[last_request.size() >= 12 ? last_request.size() - 12 : 0];
            chunk[1] = last_request[last_request.size() >= 12 ? last_request.size() - 11 : 1];
        }
        now += std::chrono::milliseconds((ctl >> 6) * 20);
        DriverOutput o;
        if (out.wake_at && *out.wake_at <= now) driver->on_timer({now, 0}, o);
        driver->on_bytes(chunk, {now, 0}, o);
        if ((ctl & 0xC0) == 0xC0) {
            (void)driver->write_point({1, "a", "i", Value{std::int64_t{static_cast<std::int8_t>(ctl)}}, (ctl & 0x01) != 0}, {now, 0}, o);
            (void)driver->write_point({2, "a", "c", Value{true}, false}, {now, 0}, o);
        }
        for (int i = 0; i < 4 && o.wake_at; ++i) {
            now = std::max(now, *o.wake_at);
            o.wake_at.reset();
            driver->on_timer({now, 0}, o);
        }
        if (!o.to_write.empty()) last_request = o.to_write;
        out = std::move(o);
    }
    DriverOutput closed;
    driver->on_close(closed);
    (void)driver->counters();
    return 0;
}
