// Feeds arbitrary bytes through the M-Bus frame scanner and the EN 13757-3 user-data decoder (the
// bytes as one frame, and as a CI field with its data), and through the whole mbus driver, as bus
// master (with fake time and timers) and as the decode command's passive decoder.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "drivers/mbus/mbus_driver.hpp"
#include "drivers/mbus/mbus_frame.hpp"
#include "drivers/mbus/mbus_readings.hpp"
#include "drivers/mbus/mbus_record.hpp"

using namespace loopgate;

namespace {

const char* kConfig = R"(
settings: {retries: 1, offline_after: 2}
devices:
  - {address: 1, poll_interval: 30s, max_telegrams: 3}
  - {secondary: "12345678", poll_interval: 1min, points: [{vif: energy}, {vif: volume, storage: 1, name: v1}]}
)";

std::unique_ptr<Driver> make(bool passive) {
    static ConfigNode root = ConfigNode::load_string(kConfig, "fuzz.yaml");
    ConfigNode none;
    DriverSpec spec{PortInfo{"fuzz", 2400, 8, true, 1}, passive ? none : root["settings"], passive ? none : root["devices"]};
    return make_mbus_driver(spec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    auto scan = mbus::scan_frame(in);
    if (scan.status == mbus::FrameScan::complete) {
        mbus::Frame f = mbus::parse_frame(in.first(scan.length));
        auto r = mbus::decode_user_data(f.ci, f.data);
        if (r.telegram) (void)mbus::record_metrics(*r.telegram);
    }
    if (size >= 1) {
        auto r = mbus::decode_user_data(data[0], in.subspan(1));
        if (r.telegram) {
            auto names = mbus::record_metrics(*r.telegram);
            for (const auto& rec : r.telegram->records) {
                Reading reading;
                mbus::fill_reading(rec, reading);
            }
        }
    }
    if (size < 2) return 0;

    // First byte: master or passive; then chunks of [control byte][payload]: the control byte gives
    // the chunk length, whether to wrap it in a valid long frame (so records get past the checksum),
    // and how much time passes before it.
    const bool passive = data[0] & 1;
    std::unique_ptr<Driver> driver = make(passive);
    SteadyTime now{std::chrono::hours(1)};
    DriverOutput out;
    if (!passive) driver->on_open({now, 0}, out);
    std::size_t pos = 1;
    while (pos < size) {
        std::uint8_t ctl = data[pos++];
        std::size_t len = std::min<std::size_t>(ctl & 0x3F, size - pos);
        std::vector<std::uint8_t> chunk(data + pos, data + pos + len);
        pos += len;
        if (ctl & 0x40 && !chunk.empty()) {
            std::uint8_t ci = chunk[0];
            chunk = mbus::build_long(mbus::kRspUd, 1, ci, std::span(chunk).subspan(1));
        }
        now += std::chrono::milliseconds((ctl >> 7) * 300);
        DriverOutput o;
        if (out.wake_at && *out.wake_at <= now) {
            driver->on_timer({now, 0}, o);
            out = std::move(o);
            o = {};
        }
        driver->on_bytes(chunk, {now, 0}, o);
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
    (void)driver->device_names();
    return 0;
}
