#pragma once
// What the Modbus master tests share: a register-table slave that answers what a master asks, and a
// bench that drives a driver with fake time the way the port session does.

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>

#include "drivers/driver.hpp"
#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"
#include "tests/drivers/hex_bytes.hpp"

namespace loopgate::modbus_test {

using namespace std::chrono_literals;
namespace mb = loopgate::modbus;


inline std::vector<std::uint8_t> with_crc(std::vector<std::uint8_t> f) {
    mb::append_crc(f);
    return f;
}

// A register-table slave, enough to answer what the master asks.
struct FakeSlave {
    std::uint8_t unit = 1;
    std::map<std::uint16_t, std::uint16_t> holding, input;
    std::map<std::uint16_t, bool> coils;

    // The RTU answer to an RTU request.
    std::vector<std::uint8_t> answer(const std::vector<std::uint8_t>& adu) {
        std::string error;
        auto q = mb::rtu::parse_request(adu, error);
        REQUIRE(q);
        std::vector<std::uint8_t> r{q->unit};
        auto pdu = answer_pdu(*q);
        r.insert(r.end(), pdu.begin(), pdu.end());
        return with_crc(r);
    }

    // Function code and data of the answer to `q`.
    std::vector<std::uint8_t> answer_pdu(const mb::Request& qr) {
        const mb::Request* q = &qr;
        std::vector<std::uint8_t> request_pdu = mb::encode_request(qr);
        std::vector<std::uint8_t> r{q->function};
        switch (q->function) {
            case mb::fc::read_holding_registers:
            case mb::fc::read_input_registers: {
                auto& table = q->function == 3 ? holding : input;
                r.push_back(static_cast<std::uint8_t>(q->count * 2));
                for (std::uint16_t i = 0; i < q->count; ++i) {
                    std::uint16_t v = table[static_cast<std::uint16_t>(q->address + i)];
                    r.push_back(static_cast<std::uint8_t>(v >> 8));
                    r.push_back(static_cast<std::uint8_t>(v));
                }
                break;
            }
            case mb::fc::read_coils: {
                std::size_t n = (q->count + 7u) / 8;
                r.push_back(static_cast<std::uint8_t>(n));
                for (std::size_t b = 0; b < n; ++b) {
                    std::uint8_t byte = 0;
                    for (std::size_t j = 0; j < 8 && b * 8 + j < q->count; ++j)
                        if (coils[static_cast<std::uint16_t>(q->address + b * 8 + j)]) byte |= static_cast<std::uint8_t>(1 << j);
                    r.push_back(byte);
                }
                break;
            }
            case mb::fc::write_single_register:
                holding[q->address] = q->registers[0];
                r.assign(request_pdu.begin(), request_pdu.begin() + 5);
                break;
            case mb::fc::write_single_coil:
                coils[q->address] = q->bits[0];
                r.assign(request_pdu.begin(), request_pdu.begin() + 5);
                break;
            case mb::fc::write_multiple_registers:
                for (std::size_t i = 0; i < q->registers.size(); ++i)
                    holding[static_cast<std::uint16_t>(q->address + i)] = q->registers[i];
                r.assign(request_pdu.begin(), request_pdu.begin() + 5);
                break;
        }
        return r;
    }
};

struct Bench {
    std::unique_ptr<Driver> driver;
    SteadyTime now = SteadyTime{} + std::chrono::hours(1);
    std::int64_t wall = 1'700'000'000'000'000'000;
    std::optional<SteadyTime> wake;
    std::vector<std::vector<std::uint8_t>> sent;
    std::vector<Reading> readings;
    std::vector<WriteCompletion> completions;
    std::uint64_t write_ids = 0;

    explicit Bench(const std::string& yaml, unsigned baud = 9600, DriverFactory factory = make_modbus_driver) {
        ConfigNode root = ConfigNode::load_string(yaml, "port.yaml");
        DriverSpec spec{PortInfo{"rs485", baud, 8, false, 1}, root["settings"], root["devices"]};
        driver = factory(spec);
    }

    DriverClock clock() const { return {now, wall}; }
    void take(DriverOutput& o) {
        if (!o.to_write.empty()) sent.push_back(o.to_write);
        for (auto& r : o.readings) readings.push_back(r);
        for (auto& c : o.completions) completions.push_back(c);
        wake = o.wake_at;
    }
    // A command's write, as the port session hands it over: with the clock, acting on the output.
    WriteResult write(const std::string& device, const std::string& point, Value value, bool verify = false) {
        DriverOutput o;
        WriteResult r = driver->write_point({++write_ids, device, point, std::move(value), verify}, clock(), o);
        auto timer = wake;  // a refused write leaves the session's timer as it was
        take(o);
        if (!o.wake_at) wake = timer;
        return r;
    }
    // The frame a write puts on the line: at once on a quiet line, else when the driver's timer fires.
    std::vector<std::uint8_t> write_frame(const std::string& device, const std::string& point, Value value,
                                          bool verify = false) {
        std::size_t before = sent.size();
        REQUIRE(write(device, point, std::move(value), verify).accepted);
        return sent.size() > before ? sent.back() : next_request(1s);
    }
    void close() {
        DriverOutput o;
        driver->on_close(o);
        take(o);
    }
    void open() {
        DriverOutput o;
        driver->on_open(clock(), o);
        take(o);
    }
    void feed(const std::vector<std::uint8_t>& bytes) {
        DriverOutput o;
        driver->on_bytes(bytes, clock(), o);
        take(o);
    }
    // Lets time pass to `t`, firing the timers the driver asks for on the way.
    void run_until(SteadyTime t) {
        while (wake && *wake <= t) {
            now = std::max(now, *wake);
            DriverOutput o;
            driver->on_timer(clock(), o);
            take(o);
        }
        now = t;
    }
    void advance(std::chrono::nanoseconds d) { run_until(now + d); }
    // Runs until the driver sends something (or `limit` passes); returns what it sent.
    std::vector<std::uint8_t> next_request(std::chrono::nanoseconds limit = 5s) {
        std::size_t before = sent.size();
        SteadyTime end = now + limit;
        while (sent.size() == before && wake && *wake <= end) run_until(*wake);
        REQUIRE(sent.size() > before);
        return sent.back();
    }
    std::uint64_t counter(const std::string& name) const { return driver->counters().at(name); }
    std::vector<Reading> drain() {
        auto r = std::move(readings);
        readings.clear();
        return r;
    }
};

inline const Reading* find(const std::vector<Reading>& rs, const std::string& metric) {
    for (const auto& r : rs)
        if (r.metric == metric) return &r;
    return nullptr;
}

}  // namespace loopgate::modbus_test
