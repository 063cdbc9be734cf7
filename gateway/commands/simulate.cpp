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
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/commands/commands.hpp"

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

int simulate(const Args& args) {
    allow_only(args, {"--dir", "--line", "--nmea", "--interval", "--count"}, {});
    std::string dir = option(args, "--dir");
    if (dir.empty()) throw std::invalid_argument("--dir DIR is required");
    auto interval = std::chrono::milliseconds(std::stol(option(args, "--interval", "1000")));
    long count = std::stol(option(args, "--count", "0"));
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
    if (sensors.empty()) throw std::invalid_argument("name at least one sensor with --line NAME or --nmea NAME=FILE");
    std::fflush(stdout);

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto next = std::chrono::steady_clock::now();
    long rounds = 0;
    while (!stop_requested && (count == 0 || rounds < count)) {
        for (FakeSensor& s : sensors) {
            // An NMEA talker sends a burst of sentences per fix, as receivers do: up to the next GGA/RMC.
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
            char sink[512];
            while (::read(s.master, sink, sizeof sink) > 0) {
            }
        }
        ++rounds;
        next += interval;
        std::this_thread::sleep_until(next);
    }
    for (FakeSensor& s : sensors) {
        std::filesystem::remove(s.link);
        ::close(s.master);
    }
    return 0;
}

}  // namespace loopgate::commands
