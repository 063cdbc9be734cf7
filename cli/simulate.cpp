// Fake sensors on pseudo-terminals, so the gateway can be seen working without hardware.
//
// Each sensor gets a pty pair; the slave's path is linked as DIR/NAME, which a config names like any
// /dev/serial/by-id link. A line sensor prints a weather record; an NMEA talker replays a capture.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "cli/commands.hpp"
#include "sim/fake_mbus_meter.hpp"
#include "sim/fake_modbus_slave.hpp"

namespace loopgate::commands {

namespace {

std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested = true; }

struct FakeSensor {
    std::string name;
    std::filesystem::path link;
    int master = -1;
    std::vector<std::string> script;  // NMEA: sentences to replay; empty for the weather sensor
    std::size_t next = 0;
    std::uint64_t records = 0;
    std::unique_ptr<FakeModbusSlave> modbus;  // set for a Modbus slave, which only answers
    std::unique_ptr<FakeMbusMeter> mbus;      // set for an M-Bus meter, which only answers too
};

FakeSensor open_sensor(const std::filesystem::path& dir, const std::string& name) {
    FakeSensor s;
    s.name = name;
    int slave = -1;
    char path[128];
    if (::openpty(&s.master, &slave, path, nullptr, nullptr) != 0)
        throw std::runtime_error(std::string("openpty: ") + std::strerror(errno));
    // Raw from the start: no echo back into our master, no line editing of what we write.
    termios tio{};
    ::tcgetattr(slave, &tio);
    ::cfmakeraw(&tio);
    ::tcsetattr(slave, TCSANOW, &tio);
    ::close(slave);
    ::fcntl(s.master, F_SETFL, ::fcntl(s.master, F_GETFL) | O_NONBLOCK);
    s.link = dir / name;
    std::filesystem::remove(s.link);
    std::filesystem::create_symlink(path, s.link);
    std::printf("simulate: %s -> %s\n", s.link.c_str(), path);
    return s;
}

std::string weather_record(std::uint64_t n) {
    double t = static_cast<double>(n);
    char line[128];
    std::snprintf(line, sizeof line, "T=%.2f H=%.1f P=%.2f N=%llu\r\n", 21.5 + 3 * std::sin(t / 30),
                  45 + 10 * std::cos(t / 50), 1013.25 + std::sin(t / 100), static_cast<unsigned long long>(n));
    return line;
}

}  // namespace

const char* const simulate_usage =
    "usage: loopgate simulate --dir DIR [--line NAME]... [--nmea NAME=CAPTURE]... [--modbus NAME[=UNIT]]...\n"
    "                         [--mbus NAME[=ADDRESS]]... [--interval MS] [--count N]\n"
    "\n"
    "Fake sensors on pseudo-terminals, each linked as DIR/NAME for a config's path: setting.\n"
    "Runs until SIGINT or SIGTERM, then removes the links.\n"
    "\n"
    "options:\n"
    "  --dir DIR             where the links are made (required; created if missing)\n"
    "  --line NAME           a weather sensor printing T=.. H=.. P=.. N=.. records\n"
    "  --nmea NAME=CAPTURE   an NMEA talker replaying the sentences of a capture file\n"
    "  --modbus NAME[=UNIT]  a Modbus RTU slave (unit 1-247, default 1): float32 meter values in\n"
    "                        input registers 0-15, holding registers 0-99 writable\n"
    "  --mbus NAME[=ADDRESS] an M-Bus heat meter (primary address 0-250, default 1; identification\n"
    "                        number 71000000 + ADDRESS) answering SND_NKE, REQ_UD2 and secondary\n"
    "                        selection with a two-telegram readout\n"
    "  --interval MS         time between records of the talking sensors (default 1000)\n"
    "  --count N             stop after N rounds of records (default 0: run until interrupted)\n";

int simulate(const Args& args) {
    allow_only(args, {"--dir", "--line", "--nmea", "--modbus", "--mbus", "--interval", "--count"}, {});
    std::string dir = option(args, "--dir");
    if (dir.empty()) throw std::invalid_argument("--dir DIR is required");
    auto interval = std::chrono::milliseconds(static_cast<long>(number_option(args, "--interval", 1000, 1)));
    auto count = static_cast<long>(number_option(args, "--count", 0));
    std::filesystem::create_directories(dir);

    std::vector<FakeSensor> sensors;
    for (const auto& name : options(args, "--line")) sensors.push_back(open_sensor(dir, name));
    for (const auto& spec : options(args, "--nmea")) {
        auto eq = spec.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--nmea expects NAME=CAPTURE_FILE");
        std::ifstream in(spec.substr(eq + 1));
        if (!in) throw std::invalid_argument("cannot read " + spec.substr(eq + 1));
        FakeSensor s = open_sensor(dir, spec.substr(0, eq));
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || line[0] == '#') continue;
            s.script.push_back(line + "\r\n");
        }
        if (s.script.empty()) throw std::invalid_argument(spec.substr(eq + 1) + " holds no sentences");
        sensors.push_back(std::move(s));
    }
    for (const auto& spec : options(args, "--modbus")) {
        auto eq = spec.find('=');
        int unit = eq == std::string::npos ? 1 : std::stoi(spec.substr(eq + 1));
        if (unit < 1 || unit > 247) throw std::invalid_argument("--modbus NAME=UNIT: unit must be 1-247");
        FakeSensor s = open_sensor(dir, spec.substr(0, eq));
        s.modbus = std::make_unique<FakeModbusSlave>(static_cast<std::uint8_t>(unit));
        sensors.push_back(std::move(s));
    }
    for (const auto& spec : options(args, "--mbus")) {
        auto eq = spec.find('=');
        int address = eq == std::string::npos ? 1 : std::stoi(spec.substr(eq + 1));
        if (address < 0 || address > 250) throw std::invalid_argument("--mbus NAME=ADDRESS: address must be 0-250");
        FakeSensor s = open_sensor(dir, spec.substr(0, eq));
        s.mbus = std::make_unique<FakeMbusMeter>(static_cast<std::uint8_t>(address));
        sensors.push_back(std::move(s));
    }
    if (sensors.empty())
        throw std::invalid_argument("name at least one sensor with --line NAME, --nmea NAME=FILE, --modbus NAME=UNIT or --mbus NAME=ADDRESS");
    std::fflush(stdout);

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto started = std::chrono::steady_clock::now();
    auto next = started;
    long rounds = 0;
    std::vector<pollfd> fds;
    for (const FakeSensor& s : sensors) fds.push_back({s.master, POLLIN, 0});
    while (!stop_requested && (count == 0 || rounds < count)) {
        if (std::chrono::steady_clock::now() >= next) {
            for (FakeSensor& s : sensors) {
                if (s.modbus || s.mbus) continue;  // a slave speaks only when asked
                // An NMEA talker sends a burst of sentences per fix, as receivers do: up to the next GGA.
                std::string out;
                if (s.script.empty()) {
                    out = weather_record(++s.records);
                } else {
                    do {
                        out += s.script[s.next];
                        s.next = (s.next + 1) % s.script.size();
                    } while (s.next != 0 && s.script[s.next].find("GGA,") == std::string::npos && out.size() < 2048);
                }
                // Nobody may have the line open; a full pty buffer just drops this record.
                ssize_t ignored = ::write(s.master, out.data(), out.size());
                (void)ignored;
            }
            ++rounds;
            next += interval;
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
        if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, wait.count()))) <= 0) continue;
        for (std::size_t i = 0; i < sensors.size(); ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            std::uint8_t in[512];
            ssize_t n = ::read(sensors[i].master, in, sizeof in);
            if (n <= 0 || (!sensors[i].modbus && !sensors[i].mbus)) continue;  // what the gateway writes to a talker is dropped
            double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            auto bytes = std::span<const std::uint8_t>(in, static_cast<std::size_t>(n));
            auto reply = sensors[i].modbus ? sensors[i].modbus->feed(bytes, t) : sensors[i].mbus->feed(bytes, t);
            if (!reply.empty()) {
                ssize_t ignored = ::write(sensors[i].master, reply.data(), reply.size());
                (void)ignored;
            }
        }
    }
    for (FakeSensor& s : sensors) {
        std::filesystem::remove(s.link);
        ::close(s.master);
    }
    return 0;
}

}  // namespace loopgate::commands
