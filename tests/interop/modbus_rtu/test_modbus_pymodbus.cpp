// Interop: the modbus-rtu master against pymodbus acting as an RTU slave on a socat pty pair, with
// the real steady clock. Register contents come from a table written here and encoded by the slave
// with Python's struct module, so the driver's decoding is checked against a second implementation.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A child process that is gone when this object is, whatever way the test ends. PR_SET_PDEATHSIG
// covers the case where the test process itself dies.
class Child {
public:
    Child(const std::vector<std::string>& argv, const std::string& log) {
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
    }
    ~Child() { stop(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {  // up to 2 s to go quietly
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            poll(nullptr, 0, 20);
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
};

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

template <typename Pred>
bool wait_for(Pred pred, Clock::duration limit) {
    Clock::time_point end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (pred()) return true;
        poll(nullptr, 0, 10);
    }
    return pred();
}

bool python_has_pymodbus() {
    return access("/usr/bin/python3", X_OK) == 0 &&
           std::system("/usr/bin/python3 -c 'import pymodbus.framer.rtu_framer, serial' >/dev/null 2>&1") == 0;
}

int open_serial(const std::string& path) {
    int fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return -1;
    termios tio{};
    tcgetattr(fd, &tio);
    cfmakeraw(&tio);
    cfsetispeed(&tio, B19200);
    cfsetospeed(&tio, B19200);
    tio.c_cflag &= ~static_cast<tcflag_t>(CSTOPB | PARENB | CSIZE);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tcsetattr(fd, TCSANOW, &tio);
    return fd;
}

bool write_all(int fd, const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            poll(&p, 1, 100);
            continue;
        }
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// One row of the slave's register table and what the driver must read from it.
struct Entry {
    int unit;
    std::string device, name, table, type, order;
    int address;
    Value value;      // what the slave holds and the driver must report
    int length = 0;   // strings, in registers
};

std::string json_value(const Value& v) {
    if (const auto* d = std::get_if<double>(&v)) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", *d);
        return buf;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return "\"" + std::get<std::string>(v) + "\"";
}

std::string describe(const Value& v) {
    return std::visit([](const auto& x) {
        std::ostringstream s;
        s.precision(17);
        s << x;
        return s.str();
    }, v);
}

}  // namespace

TEST_CASE("modbus master against a pymodbus RTU slave over a pty pair", "[modbus][pymodbus]") {
    if (access("/usr/bin/socat", X_OK) != 0 || !python_has_pymodbus()) {
        WARN("skipping the pymodbus interop test: /usr/bin/socat or Debian's python3-pymodbus/python3-serial is missing");
        return;
    }
    testing::TempDir dir{"modbus"};
    const std::string master_link = (dir.path / "master").string();
    const std::string slave_link = (dir.path / "slave").string();

    // --- the slave's register table: two units, every type and word order ----------------------
    std::vector<Entry> table;
    int hr = 0, ir = 0;
    const char* orders[] = {"ABCD", "CDAB", "BADC", "DCBA"};
    for (const char* o : orders) {
        std::string s = o;
        for (auto& c : s) c = static_cast<char>(std::tolower(c));
        table.push_back({1, "meter", "i32_" + s, "holding", "int32", o, hr, std::int64_t{-123456789}}); hr += 2;
        table.push_back({1, "meter", "u32_" + s, "holding", "uint32", o, hr, std::int64_t{3000000000}}); hr += 2;
        table.push_back({1, "meter", "i64_" + s, "holding", "int64", o, hr, std::int64_t{-1234567890123}}); hr += 4;
        table.push_back({1, "meter", "u64_" + s, "holding", "uint64", o, hr, std::int64_t{1234567890123456789}}); hr += 4;
        table.push_back({1, "meter", "f64_" + s, "holding", "float64", o, hr, 3.141592653589793}); hr += 4;
        table.push_back({1, "meter", "f32_" + s, "input", "float32", o, ir, -1234.5}); ir += 2;
        table.push_back({1, "meter", "i16_" + s, "input", "int16", o, ir, std::int64_t{-1234}}); ir += 1;
    }
    table.push_back({1, "meter", "u16", "holding", "uint16", "ABCD", hr, std::int64_t{65000}}); hr += 1;
    table.push_back({1, "meter", "u64_big", "holding", "uint64", "ABCD", hr, static_cast<double>(12345678901234567890ULL)}); hr += 4;
    table.push_back({1, "meter", "name", "holding", "string", "ABCD", hr, std::string("LOOPGATE-01"), 6}); hr += 6;
    table.push_back({1, "meter", "name_swapped", "holding", "string", "BADC", hr, std::string("SDM630"), 4}); hr += 4;
    const int flags_at = hr++;
    table.push_back({1, "meter", "flags", "holding", "uint16", "ABCD", flags_at, std::int64_t{5}});
    table.push_back({1, "meter", "setpoint", "holding", "float32", "ABCD", 200, 10.0});
    table.push_back({1, "meter", "limit", "holding", "int16", "ABCD", 210, std::int64_t{100}});
    table.push_back({1, "meter", "relay", "coil", "bool", "", 3, false});
    table.push_back({1, "meter", "door", "discrete_input", "bool", "", 5, true});
    table.push_back({2, "drive", "speed", "holding", "float32", "CDAB", 0, 1480.5});
    table.push_back({2, "drive", "hours", "input", "uint32", "DCBA", 10, std::int64_t{123456}});
    table.push_back({2, "drive", "running", "coil", "bool", "", 0, true});

    std::ofstream(dir.path / "table.json") << [&] {
        std::string j = "[\n";
        for (std::size_t i = 0; i < table.size(); ++i) {
            const Entry& e = table[i];
            // u64_big is the only value beyond int64: hand Python the exact integer.
            std::string v = e.name == "u64_big" ? "12345678901234567890" : json_value(e.value);
            j += "  {\"unit\": " + std::to_string(e.unit) + ", \"table\": \"" + e.table + "\", \"address\": " +
                 std::to_string(e.address) + ", \"type\": \"" + e.type + "\", \"order\": \"" +
                 (e.order.empty() ? "ABCD" : e.order) + "\", \"value\": " + v +
                 (e.length ? ", \"length\": " + std::to_string(e.length) : std::string()) + "}" +
                 (i + 1 < table.size() ? ",\n" : "\n");
        }
        return j + "]\n";
    }();

    // --- the driver's config: the same table, plus what the slave cannot serve --------------------
    std::map<std::string, std::string> yaml_points;
    for (const Entry& e : table) {
        std::string p = "{name: " + e.name + ", table: " + e.table + ", address: " + std::to_string(e.address);
        if (e.type != "bool") p += ", type: " + e.type;
        if (!e.order.empty() && e.order != "ABCD") p += ", word_order: " + e.order;
        if (e.length) p += ", length: " + std::to_string(e.length);
        if (e.name == "setpoint") p += ", writable: true, min: 0, max: 100";
        if (e.name == "limit" || e.name == "relay") p += ", writable: true";
        yaml_points[e.device] += "      - " + p + "}\n";
    }
    yaml_points["meter"] += "      - {name: flag0, table: holding, address: " + std::to_string(flags_at) + ", bit: 0}\n";
    yaml_points["meter"] += "      - {name: flag1, table: holding, address: " + std::to_string(flags_at) + ", bit: 1}\n";
    yaml_points["meter"] += "      - {name: setpoint_hi, table: holding, address: 200}\n";
    yaml_points["meter"] += "      - {name: setpoint_lo, table: holding, address: 201}\n";
    yaml_points["meter"] += "      - {name: limit_raw, table: holding, address: 210}\n";
    yaml_points["drive"] += "      - {name: missing, ref: 40501}\n";  // beyond the slave's 300 registers
    const std::string yaml =
        "settings: {response_timeout: 300ms, turnaround_delay: 50ms, retries: 1, max_gap: 10, offline_after: 2}\n"
        "devices:\n"
        "  - name: meter\n    unit: 1\n    poll_interval: 500ms\n    points:\n" + yaml_points["meter"] +
        "  - name: drive\n    unit: 2\n    poll_interval: 700ms\n    points:\n" + yaml_points["drive"] +
        "  - name: ghost\n    unit: 3\n    poll_interval: 1s\n    points:\n      - {name: x, ref: 40001}\n";

    // --- socat, the pty pair, the slave ----------------------------------------------------------
    Child socat({"/usr/bin/socat", "-d", "-d", "pty,raw,echo=0,link=" + master_link, "pty,raw,echo=0,link=" + slave_link},
                (dir.path / "socat.log").string());
    REQUIRE(wait_for([&] { return fs::exists(master_link) && fs::exists(slave_link); }, 5s));
    Child slave({"/usr/bin/python3", LOOPGATE_SOURCE_DIR "/tests/integration/modbus_slave.py", slave_link,
                 (dir.path / "table.json").string(), "--baud", "19200"},
                (dir.path / "slave.log").string());
    Fd line;
    line.fd = open_serial(master_link);
    REQUIRE(line.fd >= 0);

    // Until the slave answers a plain read, it is still starting: probe, bounded.
    auto probe = modbus::rtu::frame(modbus::read_request(1, modbus::Table::holding, 0, 1));
    bool answered = false;
    Clock::time_point probe_end = Clock::now() + 15s;
    while (!answered && Clock::now() < probe_end && slave.running()) {
        REQUIRE(write_all(line.fd, probe));
        std::vector<std::uint8_t> got;
        Clock::time_point until = Clock::now() + 300ms;
        while (got.size() < 7 && Clock::now() < until) {
            pollfd p{line.fd, POLLIN, 0};
            if (poll(&p, 1, 20) > 0) {
                std::uint8_t buf[64];
                ssize_t n = read(line.fd, buf, sizeof buf);
                if (n > 0) got.insert(got.end(), buf, buf + n);
            }
        }
        answered = got.size() == 7 && modbus::crc_ok(got);
    }
    if (!answered) {
        std::ifstream log(dir.path / "slave.log");
        std::stringstream text;
        text << log.rdbuf();
        FAIL("the pymodbus slave never answered; its log:\n" << text.str());
    }

    // --- the driver on the real clock --------------------------------------------------------------
    ConfigNode root = ConfigNode::load_string(yaml, "pymodbus-test.yaml");
    DriverSpec spec{PortInfo{"pty", 19200, 8, false, 1}, root["settings"], root["devices"]};
    std::unique_ptr<Driver> driver = make_modbus_driver(spec);
    std::map<std::string, Reading> latest;
    std::optional<SteadyTime> wake;
    auto wall = [] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
    std::map<std::uint64_t, WriteCompletion> completed;
    auto handle = [&](DriverOutput& o) {
        if (!o.to_write.empty()) REQUIRE(write_all(line.fd, o.to_write));
        for (auto& r : o.readings) latest[r.device + "/" + r.metric] = r;
        for (auto& c : o.completions) completed[c.id] = c;
        wake = o.wake_at;
    };
    auto run = [&](auto done, Clock::duration limit) {
        Clock::time_point end = Clock::now() + limit;
        while (!done() && Clock::now() < end) {
            int timeout_ms = 50;
            if (wake) {
                auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now()).count();
                timeout_ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, 50));
            }
            pollfd p{line.fd, POLLIN, 0};
            int n = poll(&p, 1, timeout_ms);
            REQUIRE(n >= 0);
            REQUIRE((p.revents & (POLLHUP | POLLERR)) == 0);
            DriverOutput o;
            if (n > 0) {
                std::uint8_t buf[512];
                ssize_t got = read(line.fd, buf, sizeof buf);
                if (got <= 0) continue;
                driver->on_bytes(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(got)),
                                 DriverClock{Clock::now(), wall()}, o);
            } else if (wake && Clock::now() >= *wake) {
                driver->on_timer(DriverClock{Clock::now(), wall()}, o);
            } else {
                continue;
            }
            handle(o);
        }
        return done();
    };

    {
        DriverOutput o;
        driver->on_open(DriverClock{Clock::now(), wall()}, o);
        handle(o);
    }
    auto have = [&](const std::string& key) { return latest.count(key) > 0; };
    bool complete = run([&] {
        for (const Entry& e : table)
            if (!have(e.device + "/" + e.name)) return false;
        return have("drive/missing") && have("ghost/online") && have("meter/flag1");
    }, 20s);
    INFO("counters: requests " << driver->counters().at("requests_sent") << ", timeouts " << driver->counters().at("timeouts"));
    REQUIRE(complete);

    for (const Entry& e : table) {
        const Reading& r = latest.at(e.device + "/" + e.name);
        INFO(e.device << "/" << e.name << " (" << e.type << " " << e.order << "): got " << describe(r.value) << ", want "
                      << describe(e.value));
        CHECK(r.quality == Quality::good);
        CHECK(r.value == e.value);
    }
    CHECK(latest.at("meter/flag0").value == Value{true});
    CHECK(latest.at("meter/flag1").value == Value{false});
    CHECK(latest.at("meter/online").value == Value{true});
    CHECK(latest.at("drive/online").value == Value{true});
    CHECK(latest.at("drive/missing").quality == Quality::bad);
    CHECK(latest.at("drive/missing").quality_reason == "ILLEGAL_DATA_ADDRESS");
    CHECK(latest.at("ghost/online").value == Value{false});
    CHECK(latest.at("ghost/x").quality_reason == "device offline");

    // --- write round trip: FC 16 (float32), FC 06 (int16), FC 05 (coil), read back ---------------------
    auto write = [&](std::uint64_t id, const std::string& point, Value v, bool verify = false) {
        DriverOutput o;
        WriteResult r = driver->write_point({id, "meter", point, std::move(v), verify}, DriverClock{Clock::now(), wall()}, o);
        auto timer = wake;  // a refused write leaves the timer as it was, as in the session
        handle(o);
        if (!o.wake_at) wake = timer;
        return r;
    };
    REQUIRE(write(1, "setpoint", Value{42.25}, true).accepted);
    REQUIRE(write(2, "limit", Value{std::int64_t{-7}}).accepted);
    REQUIRE(write(3, "relay", Value{true}).accepted);
    CHECK_FALSE(write(4, "setpoint", Value{100.5}).accepted);
    bool written = run([&] {
        return completed.size() == 3 && latest.at("meter/setpoint").value == Value{42.25} &&
               latest.at("meter/limit").value == Value{std::int64_t{-7}} && latest.at("meter/relay").value == Value{true};
    }, 10s);
    CHECK(written);
    CHECK(driver->counters().at("write_ok") == 3);
    CHECK(driver->counters().at("write_failed") == 0);
    // pymodbus's answers: FC 06 and 05 echo the value, FC 16 confirms the words; verify read it back.
    for (std::uint64_t id : {1, 2, 3}) {
        INFO("write " << id << ": " << completed[id].error);
        CHECK(completed[id].outcome == WriteOutcome::ok);
        CHECK(completed[id].device_time_ns > 0);
    }
    CHECK(completed[1].read_back == Value{42.25});
    CHECK(completed[2].echoed == Value{std::int64_t{-7}});
    CHECK_FALSE(completed[2].read_back);
    CHECK(completed[3].echoed == Value{true});
    // The raw words, read back as plain registers: 42.25f = 0x42290000, -7 = 0xFFF9.
    CHECK(latest.at("meter/setpoint_hi").value == Value{std::int64_t{0x4229}});
    CHECK(latest.at("meter/setpoint_lo").value == Value{std::int64_t{0}});
    CHECK(latest.at("meter/limit_raw").value == Value{std::int64_t{0xFFF9}});

    Counters c = driver->counters();
    CHECK(c.at("crc_errors") == 0);
    CHECK(c.at("wrong_unit") == 0);
    CHECK(c.at("malformed_responses") == 0);
    CHECK(c.at("exceptions") >= 1);
    CHECK(c.at("timeouts") >= 2);
    CHECK(c.at("responses_ok") > 10);
    // slave, socat and the temp dir go with their guards.
}
