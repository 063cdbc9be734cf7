#include "drivers/modbus/point_readings.hpp"

#include <algorithm>
#include <utility>

namespace loopgate::modbus {

PointReadings::PointReadings(std::vector<Device> devices) : devices_(std::move(devices)) {
    state_.resize(devices_.size());
    for (std::size_t d = 0; d < devices_.size(); ++d) state_[d].resize(devices_[d].points.size());
}

std::optional<std::size_t> PointReadings::device_of_unit(std::uint8_t unit) const {
    auto it = std::find_if(devices_.begin(), devices_.end(), [&](const Device& d) { return !d.broadcast && d.unit == unit; });
    if (it == devices_.end()) return std::nullopt;
    return static_cast<std::size_t>(it - devices_.begin());
}

std::optional<std::size_t> PointReadings::device_named(const std::string& name) const {
    auto it = std::find_if(devices_.begin(), devices_.end(), [&](const Device& d) { return d.name == name; });
    if (it == devices_.end()) return std::nullopt;
    return static_cast<std::size_t>(it - devices_.begin());
}

void PointReadings::deliver(std::size_t device, Table table, std::uint16_t address, std::span<const std::uint16_t> regs,
                            const std::vector<bool>& bits, const std::vector<std::size_t>& points, const DriverClock& now,
                            DriverOutput& out) {
    out.readings.reserve(out.readings.size() + points.size());
    for (std::size_t i : points) {
        const Point& p = devices_[device].points[i];
        std::size_t at = p.address - address;
        if (is_bit_table(table)) {
            if (at < bits.size()) report(device, i, decode_bit(p, bits[at]), now, out);
        } else if (at + p.count() <= regs.size()) {
            report(device, i, decode_registers(p, regs.subspan(at, p.count())), now, out);
        }
    }
}

void PointReadings::report(std::size_t device, std::size_t i, const Decoded& d, const DriverClock& now, DriverOutput& out,
                           bool always) {
    const Point& p = devices_[device].points[i];
    PointState& s = state_[device][i];
    if (d.quality == Quality::good) s.last_good = d.value;
    out.readings.push_back(modbus_reading(devices_[device].name, p.name, d.value, p.unit, d.quality, d.reason, now));
    out.readings.back().always_report = always || std::exchange(s.confirm_next, false);
}

void PointReadings::report_bad(std::size_t device, std::size_t i, const std::string& reason, const DriverClock& now,
                               DriverOutput& out) {
    const Point& p = devices_[device].points[i];
    const PointState& s = state_[device][i];
    report(device, i, Decoded{s.last_good ? *s.last_good : zero_value(p), Quality::bad, reason}, now, out);
}

std::vector<std::string> PointReadings::device_names() const {
    std::vector<std::string> names;
    for (const Device& d : devices_) names.push_back(d.name);
    return names;
}

std::vector<MetricPolicy> PointReadings::report_policies() const {
    std::vector<MetricPolicy> out;
    for (const Device& d : devices_)
        for (const Point& p : d.points)
            if (!p.report.empty()) out.push_back({d.name, p.name, p.report});
    return out;
}

Reading modbus_reading(const std::string& device, const std::string& metric, Value v, const std::string& unit,
                       Quality q, const std::string& reason, const DriverClock& now) {
    Reading r;
    r.device = device;
    r.metric = metric;
    r.value = std::move(v);
    r.unit = unit;
    r.quality = q;
    r.quality_reason = reason;
    r.receive_time_ns = now.wall_ns;
    return r;
}

}  // namespace loopgate::modbus
