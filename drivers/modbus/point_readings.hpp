#pragma once
// What the bus master and the bus monitor share: a line's devices and their point maps, and how
// the values their registers and bits hold become readings.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/modbus/point_map.hpp"

namespace loopgate::modbus {

class PointReadings {
public:
    explicit PointReadings(std::vector<Device> devices);

    const std::vector<Device>& devices() const { return devices_; }
    const Device& device(std::size_t d) const { return devices_[d]; }
    // The configured device with this unit id (broadcast entries never answer); none if there is none.
    std::optional<std::size_t> device_of_unit(std::uint8_t unit) const;
    std::optional<std::size_t> device_named(const std::string& name) const;

    // The readings of `points` (indices into the device's points) found in a block that starts at
    // `address` of `table`: registers for the word tables, bits for the bit tables.
    void deliver(std::size_t device, Table table, std::uint16_t address, std::span<const std::uint16_t> registers,
                 const std::vector<bool>& bits, const std::vector<std::size_t>& points, const DriverClock& now,
                 DriverOutput& out);

    // Every answer is reported: deadband and report_on_change are the report stage's (gateway/report/),
    // which has the driver's settings through report_policies(). `always`, and the first answer after
    // a write, are marked for the stage never to hold back: they confirm the write (a Sparkplug DCMD
    // is confirmed by a DDATA with the point's new value).
    void report(std::size_t device, std::size_t point, const Decoded& d, const DriverClock& now, DriverOutput& out,
                bool always = false);
    // Bad quality still carries a value (the reading has no empty one): the last good value, or the
    // type's zero when there never was one. Consumers must look at quality first.
    void report_bad(std::size_t device, std::size_t point, const std::string& reason, const DriverClock& now,
                    DriverOutput& out);
    // The next answer for this point confirms a completed write.
    void confirm_next(std::size_t device, std::size_t point) { state_[device][point].confirm_next = true; }

    std::vector<std::string> device_names() const;
    std::vector<MetricPolicy> report_policies() const;

private:
    struct PointState {
        std::optional<Value> last_good;
        bool confirm_next = false;
    };
    std::vector<Device> devices_;
    std::vector<std::vector<PointState>> state_;  // [device][point]
};

Reading modbus_reading(const std::string& device, const std::string& metric, Value v, const std::string& unit,
                       Quality q, const std::string& reason, const DriverClock& now);

}  // namespace loopgate::modbus
