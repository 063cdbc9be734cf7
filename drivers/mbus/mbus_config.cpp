#include "drivers/mbus/mbus_config.hpp"

#include <algorithm>
#include <set>

#include "core/topic_name.hpp"

namespace loopgate::mbus {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

constexpr unsigned kMinBaud = 300, kMaxBaud = 38400;
constexpr std::size_t kMaxLongFrame = 261;  // 68 L L 68 + 255 (C A CI data) + CS 16

}  // namespace

BusTiming bus_timing(const PortInfo& port, const Settings& s) {
    BusTiming t;
    unsigned baud = port.baud ? port.baud : 2400;
    t.bit = nanoseconds(1'000'000'000LL / baud);
    double bits = port.bits_per_char() > 0 ? port.bits_per_char() : 11;
    t.char_time = nanoseconds(static_cast<std::int64_t>(bits * 1e9 / baud));
    // EN 13757-2: a slave answers after 11 bit times at least and 330 bit times + 50 ms at most.
    t.response_window = t.bit * 330 + milliseconds(50);
    t.idle_gap = s.idle_gap.count() ? nanoseconds(s.idle_gap) : t.bit * 11;
    // Level converters on USB add their own latency: the default waits 100 ms beyond the window.
    t.response_timeout = s.response_timeout.count() ? nanoseconds(s.response_timeout) : t.response_window + milliseconds(100);
    t.frame_silence = std::max<nanoseconds>(milliseconds(100), t.char_time * 20);
    return t;
}

milliseconds min_poll_interval(const BusTiming& t, int max_telegrams, int retries) {
    // One exchange: request (17 bytes at most, a selection), the full answer window, a 261-byte answer.
    nanoseconds exchange = t.idle_gap + t.char_time * 17 + t.response_timeout + t.char_time * kMaxLongFrame;
    nanoseconds all = exchange * (2 + max_telegrams) * (1 + retries);
    return std::max(milliseconds(1000), std::chrono::ceil<milliseconds>(all));
}

Settings parse_settings(const ConfigNode& s, const PortInfo& port) {
    s.allow_only({"response_timeout", "idle_gap", "retries", "offline_after"});
    if (port.baud < kMinBaud || port.baud > kMaxBaud)
        s.fail("M-Bus runs at 300 to 38400 baud (2400 is usual; set the port's baud: 2400 and parity: even), not " +
               std::to_string(port.baud));
    Settings out;
    BusTiming standard = bus_timing(port, Settings{});
    if (s["response_timeout"].present()) {
        std::int64_t ms = s.millis("response_timeout", 0);
        auto floor = std::chrono::ceil<milliseconds>(standard.response_window);
        if (ms < floor.count() || ms > 60'000)
            s.need("response_timeout")
                .fail("response_timeout must be between " + std::to_string(floor.count()) +
                      "ms (330 bit times + 50 ms at " + std::to_string(port.baud) + " baud, EN 13757-2) and 60000ms");
        out.response_timeout = milliseconds(ms);
    }
    if (s["idle_gap"].present()) {
        std::int64_t ms = s.millis("idle_gap", 0);
        if (ms < 1 || ms > 10'000) s.need("idle_gap").fail("idle_gap must be between 1ms and 10000ms");
        out.idle_gap = milliseconds(ms);
    }
    out.retries = static_cast<int>(s.integer("retries", 0, 10, 2));
    out.offline_after = static_cast<int>(s.integer("offline_after", 1, 1000, 3));
    return out;
}

namespace {

PointSelect parse_point(const ConfigNode& n) {
    n.allow_only({"vif", "storage", "tariff", "subunit", "function", "name"});
    PointSelect p;
    p.vif = n.str("vif");
    p.storage = static_cast<std::uint64_t>(n.integer("storage", 0, (std::int64_t{1} << 41) - 1, 0));
    p.tariff = static_cast<std::uint32_t>(n.integer("tariff", 0, (1 << 20) - 1, 0));
    p.subunit = static_cast<std::uint32_t>(n.integer("subunit", 0, (1 << 10) - 1, 0));
    std::string f = n.choice("function", {"instantaneous", "maximum", "minimum", "error"}, "instantaneous");
    p.function = f == "maximum" ? Function::maximum : f == "minimum" ? Function::minimum
                 : f == "error" ? Function::error_state : Function::instantaneous;
    if (n["name"].present()) {
        p.name = n.str("name");
        require_topic_name(n.need("name"), p.name);
    }
    return p;
}

}  // namespace

std::vector<DeviceConfig> parse_devices(const ConfigNode& devices, const Settings& s, const PortInfo& port) {
    std::vector<DeviceConfig> out;
    std::set<std::string> names, secondaries;
    std::set<int> addresses;
    const BusTiming timing = bus_timing(port, s);
    ConfigErrors errors;
    for (const ConfigNode& d : devices.items()) {
        errors.check([&] {
            d.allow_only({"name", "address", "secondary", "poll_interval", "max_telegrams", "points", "report", "labels",
                          "descriptions"});
            DeviceConfig dev;
            if (d["name"].present()) {
                dev.name = d.str("name");
                require_topic_name(d.need("name"), dev.name);
                if (!names.insert(dev.name).second) d.need("name").fail("duplicate device name '" + dev.name + "'");
            }
            if (d["address"].present() == d["secondary"].present())
                d.fail("give a device either address (primary, 0-250) or secondary (its 8-digit identification number)");
            if (d["address"].present()) {
                dev.address = static_cast<std::uint8_t>(d.integer("address", 0, 250));
                if (!addresses.insert(*dev.address).second)
                    d.need("address").fail("address " + std::to_string(*dev.address) + " is already used by another device on this port");
            } else {
                dev.secondary = d.str("secondary");
                bool digits = dev.secondary.size() == 8 &&
                              std::all_of(dev.secondary.begin(), dev.secondary.end(), [](char c) { return c >= '0' && c <= '9'; });
                if (!digits) d.need("secondary").fail("secondary must be the meter's 8-digit identification number, e.g. \"12345678\"");
                if (!secondaries.insert(dev.secondary).second)
                    d.need("secondary").fail("secondary " + dev.secondary + " is already used by another device on this port");
                if (dev.name.empty()) dev.name = "mbus-" + dev.secondary;
            }
            dev.max_telegrams = static_cast<int>(d.integer("max_telegrams", 1, 64, 8));
            auto floor = min_poll_interval(timing, dev.max_telegrams, s.retries);
            std::int64_t ms = d.millis("poll_interval", 15 * 60 * 1000);
            if (ms < floor.count() || ms > 7LL * 86'400'000)
                d.need("poll_interval")
                    .fail("poll_interval must be between " + std::to_string(floor.count()) + "ms (a worst-case readout of " +
                          std::to_string(dev.max_telegrams) + " telegrams at " + std::to_string(port.baud) +
                          " baud with " + std::to_string(s.retries) + " retries) and 7d");
            dev.poll_interval = milliseconds(ms);
            std::set<std::string> point_names;
            for (const ConfigNode& pn : d["points"].items()) {
                PointSelect p = parse_point(pn);
                if (!p.name.empty() && !point_names.insert(p.name).second)
                    pn.need("name").fail("duplicate point name '" + p.name + "'");
                dev.points.push_back(std::move(p));
            }
            out.push_back(std::move(dev));
        });
    }
    errors.throw_if_any();
    return out;
}

}  // namespace loopgate::mbus
