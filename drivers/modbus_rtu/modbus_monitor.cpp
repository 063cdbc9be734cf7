#include "drivers/modbus_rtu/modbus_monitor.hpp"

#include <optional>
#include <utility>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus/point_readings.hpp"

namespace loopgate::modbus {

namespace {

// A monitor that never sees a frame end must not grow without bound.
constexpr std::size_t kMaxMonitorBuffer = 4096;

class ModbusMonitor final : public Driver {
public:
    ModbusMonitor(std::vector<Device> devices, std::chrono::milliseconds frame_timeout)
        : frame_timeout_(frame_timeout), raw_(devices.empty()), points_(std::move(devices)) {}

    void on_open(const DriverClock& now, DriverOutput&) override {
        opened_ = true;
        buffer_.clear();
        pending_.reset();
        last_rx_ = now.steady;
    }

    void on_close(DriverOutput&) override {
        opened_ = false;
        buffer_.clear();
        pending_.reset();
    }

    void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) override {
        // Frames end by their length and CRC, never by how the bytes came: a device server or a USB
        // adapter splits and coalesces them, and its gaps mean nothing. Only bytes that no frame
        // completes for frame_timeout are given up (a capture fed without on_open has no timing).
        if (opened_ && !buffer_.empty() && now.steady >= last_rx_ + frame_timeout_) scan(now, out, true);
        last_rx_ = now.steady;
        buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
        scan(now, out, false);
        if (buffer_.size() > kMaxMonitorBuffer) {
            std::size_t drop = buffer_.size() - kMaxMonitorBuffer;
            noise_bytes_ += drop;
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(drop));
        }
        if (opened_ && !buffer_.empty()) set_wake(out, last_rx_ + frame_timeout_);
    }

    void on_timer(const DriverClock& now, DriverOutput& out) override {
        if (!opened_ || buffer_.empty()) return;
        if (now.steady >= last_rx_ + frame_timeout_) scan(now, out, true);
        if (!buffer_.empty()) set_wake(out, last_rx_ + frame_timeout_);
    }

    WriteResult write_point(const WriteRequest&, const DriverClock&, DriverOutput&) override {
        return {false, "the modbus-rtu driver is in monitor mode and never writes to the bus", false};
    }

    bool has_device(const std::string& device) const override { return points_.device_named(device).has_value(); }
    std::vector<std::string> device_names() const override { return points_.device_names(); }
    std::vector<MetricPolicy> report_policies() const override { return points_.report_policies(); }

    Counters counters() const override {
        return {{"responses_ok", responses_ok_},
                {"exceptions", exceptions_},
                {"noise_bytes", noise_bytes_},
                {"monitor_requests", requests_},
                {"monitor_responses", responses_},
                {"unmatched_responses", unmatched_},
                {"unknown_unit", unknown_unit_}};
    }

private:
    static void set_wake(DriverOutput& out, SteadyTime t) { out.wake_at = out.wake_at ? std::min(*out.wake_at, t) : t; }

    // Splits the buffer into requests and responses. Both directions share the wire and RTU frames
    // carry no direction, so each position is tried as both; the CRC decides, and the request last
    // seen decides which to try first. A position that can start neither is one byte of noise; a
    // position that may (more bytes needed) waits, unless a complete frame follows it: then it was
    // garbage in front of that frame.
    void scan(const DriverClock& now, DriverOutput& out, bool final) {
        constexpr rtu::FrameKinds both{true, true};
        std::size_t pos = 0;
        while (pos < buffer_.size()) {
            std::span<const std::uint8_t> b = std::span(buffer_).subspan(pos);
            bool prefer_response = pending_ && b.size() >= 2 && b[0] == pending_->unit && (b[1] & 0x7F) == pending_->function;
            int first = try_frame(b, prefer_response, pos, now, out);
            if (first == 1) continue;
            int second = try_frame(b, !prefer_response, pos, now, out);
            if (second == 1) continue;
            if ((first == 0 || second == 0) && !final) {
                auto next = rtu::find_frame(b.subspan(1), both);
                if (!next) break;
                pos += 1 + *next;
                noise_bytes_ += 1 + *next;
                continue;
            }
            ++pos;
            ++noise_bytes_;
        }
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos));
        if (final) {
            noise_bytes_ += buffer_.size();
            buffer_.clear();
        }
    }

    // 1: a frame was taken; 0: could be one, more bytes needed; -1: not this kind of frame.
    int try_frame(std::span<const std::uint8_t> b, bool as_response, std::size_t& pos, const DriverClock& now,
                  DriverOutput& out) {
        rtu::FrameSize size = as_response ? rtu::response_size(b) : rtu::request_size(b);
        if (size.status == rtu::FrameSize::invalid) return -1;
        if (size.status == rtu::FrameSize::need_more || b.size() < size.length) return 0;
        auto frame = b.first(size.length);
        if (!crc_ok(frame)) return -1;
        std::string error;
        if (as_response) {
            auto r = rtu::parse_response(frame, error);
            if (!r) return -1;
            pos += size.length;
            on_response(*r, now, out);
        } else {
            auto q = rtu::parse_request(frame, error);
            if (!q) return -1;
            pos += size.length;
            ++requests_;
            pending_ = q->unit == kBroadcastUnit ? std::nullopt : std::optional<Request>(std::move(*q));
        }
        return 1;
    }

    void on_response(const Response& r, const DriverClock& now, DriverOutput& out) {
        ++responses_;
        std::string error;
        if (!pending_ || !response_matches(*pending_, r, error)) {
            ++unmatched_;
            pending_.reset();
            return;
        }
        Request q = std::move(*pending_);
        pending_.reset();
        auto table = table_of_function(q.function);
        if (!table) return;
        if (r.exception) ++exceptions_;
        else ++responses_ok_;
        // A confirmed write tells the value as well as a read does.
        const bool write = is_write_function(q.function);
        std::vector<std::uint16_t> regs = write ? q.registers : r.registers;
        std::vector<bool> bits = write ? q.bits : r.bits;
        if (bits.size() > q.count) bits.resize(q.count);

        if (raw_) {
            report_raw(q, r, *table, regs, bits, now, out);
            return;
        }
        auto device = points_.device_of_unit(q.unit);
        if (!device) {
            ++unknown_unit_;
            return;
        }
        const Device& dev = points_.device(*device);
        std::vector<std::size_t> points;
        for (std::size_t i = 0; i < dev.points.size(); ++i) {
            const Point& p = dev.points[i];
            if (p.table == *table && p.address >= q.address &&
                std::uint32_t{p.address} + p.count() <= std::uint32_t{q.address} + q.count)
                points.push_back(i);
        }
        if (r.exception) {
            for (std::size_t i : points) points_.report_bad(*device, i, exception_name(r.exception_code), now, out);
            return;
        }
        points_.deliver(*device, *table, q.address, regs, bits, points, now, out);
    }

    static void report_raw(const Request& q, const Response& r, Table table, const std::vector<std::uint16_t>& regs,
                           const std::vector<bool>& bits, const DriverClock& now, DriverOutput& out) {
        std::string device = "unit-" + std::to_string(q.unit);
        for (std::uint32_t i = 0; i < q.count; ++i) {
            std::string metric = std::string(table_name(table)) + "_" + std::to_string(q.address + i);
            if (r.exception) {
                Value zero{std::in_place_type<std::int64_t>, 0};
                if (is_bit_table(table)) zero.emplace<bool>(false);
                out.readings.push_back(
                    modbus_reading(device, metric, std::move(zero), "", Quality::bad, exception_name(r.exception_code), now));
            } else if (is_bit_table(table)) {
                if (i < bits.size()) out.readings.push_back(modbus_reading(device, metric, bool(bits[i]), "", Quality::good, "", now));
            } else if (i < regs.size()) {
                out.readings.push_back(modbus_reading(device, metric, std::int64_t{regs[i]}, "", Quality::good, "", now));
            }
        }
    }

    std::chrono::milliseconds frame_timeout_;
    bool raw_;
    PointReadings points_;
    bool opened_ = false;
    std::vector<std::uint8_t> buffer_;
    std::optional<Request> pending_;
    SteadyTime last_rx_{};

    std::uint64_t responses_ok_ = 0, exceptions_ = 0, noise_bytes_ = 0;
    std::uint64_t requests_ = 0, responses_ = 0, unmatched_ = 0, unknown_unit_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_modbus_monitor(std::vector<Device> devices, std::chrono::milliseconds frame_timeout) {
    return std::make_unique<ModbusMonitor>(std::move(devices), frame_timeout);
}

}  // namespace loopgate::modbus
