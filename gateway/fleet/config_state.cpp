#include "gateway/fleet/config_state.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/fleet/config_update.hpp"
#include "gateway/security/sha256.hpp"

namespace loopgate {

bool RemoteConfigState::operator==(const RemoteConfigState& o) const {
    return highest == o.highest && good == o.good && pending == o.pending && trial == o.trial &&
           trial_deadline_ns == o.trial_deadline_ns && report_version == o.report_version &&
           report_status == o.report_status && report_reason == o.report_reason && report_sha256 == o.report_sha256;
}

std::string remote_config_dir(const Config& local) {
    auto slash = local.store.path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : local.store.path.substr(0, slash);
    return (dir.empty() ? "/" : dir) + "/config";
}

std::string state_file_path(const std::string& dir) { return dir + "/state"; }

std::string version_file_path(const std::string& dir, std::uint64_t version) {
    return dir + "/" + std::to_string(version) + ".yaml";
}

std::string format_state(const RemoteConfigState& s) {
    // A reason is one line: located errors span several.
    std::string reason = s.report_reason;
    for (char& c : reason)
        if (c == '\n' || c == '\r') c = ' ';
    std::ostringstream out;
    out << "highest=" << s.highest << "\ngood=" << s.good << "\npending=" << s.pending << "\ntrial=" << s.trial
        << "\ntrial_deadline_ns=" << s.trial_deadline_ns << "\nreport_version=" << s.report_version
        << "\nreport_status=" << s.report_status << "\nreport_sha256=" << s.report_sha256
        << "\nreport_reason=" << reason << "\n";
    return out.str();
}

namespace {

// Each number in its field's whole range, exactly: the versions are uint64 as in the protobuf, so a
// version of 2^63 or more must read back as written (a signed parse made it unreadable, and the
// replay mark with it).
template <class T>
std::string read_number(const std::string& value, T& out) {
    T v{};
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size())
        return "expected a whole number from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
               std::to_string(std::numeric_limits<T>::max()) + ", got '" + untrusted_text(value) + "'";
    out = v;
    return {};
}

}  // namespace

RemoteConfigState parse_state(const std::string& text, std::string& problem) {
    RemoteConfigState s;
    std::istringstream in(text);
    std::string line;
    std::set<std::string> seen;
    int number = 0;
    auto fail = [&](const std::string& what) {
        if (problem.empty()) problem = std::to_string(number) + ": " + what;
    };
    while (std::getline(in, line)) {
        ++number;
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            if (!line.empty()) fail("line without '=': '" + untrusted_text(line) + "'");
            continue;
        }
        std::string key = line.substr(0, eq), value = line.substr(eq + 1);
        if (!seen.insert(key).second) fail(untrusted_text(key) + " given twice");
        std::string bad;
        if (key == "highest") bad = read_number(value, s.highest);
        else if (key == "good") bad = read_number(value, s.good);
        else if (key == "pending") bad = read_number(value, s.pending);
        else if (key == "trial") bad = read_number(value, s.trial);
        else if (key == "trial_deadline_ns") bad = read_number(value, s.trial_deadline_ns);
        else if (key == "report_version") bad = read_number(value, s.report_version);
        else if (key == "report_status") s.report_status = value;
        else if (key == "report_sha256") s.report_sha256 = value;
        else if (key == "report_reason") s.report_reason = value;
        if (!bad.empty()) fail(key + ": " + bad);
    }
    // Every state written has the mark; a file without it cannot say which versions are replays.
    if (problem.empty() && !seen.count("highest")) problem = "no highest= line (the replay mark)";
    return s;
}

RemoteConfigState load_state(const std::string& path, std::string& problem) {
    std::ifstream in(path);
    if (!in) {
        if (errno != ENOENT) problem = path + ": " + std::strerror(errno);
        return {};
    }
    std::stringstream text;
    text << in.rdbuf();
    RemoteConfigState s = parse_state(text.str(), problem);
    if (!problem.empty()) {
        problem = path + (std::isdigit(static_cast<unsigned char>(problem[0])) ? ":" : ": ") + problem;
        return {};
    }
    return s;
}

namespace {
std::string ensure_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0750) == 0) {
        if (int e = sync_directory_of(dir)) return dir + ": " + std::strerror(e);
        return {};
    }
    if (errno == EEXIST) return {};
    return "cannot create " + dir + ": " + std::strerror(errno);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}
}  // namespace

std::string save_state(const std::string& path, const RemoteConfigState& s) {
    if (auto e = ensure_dir(path.substr(0, path.rfind('/'))); !e.empty()) return e;
    return replace_file_atomically(path, format_state(s));
}

std::string save_version(const std::string& dir, std::uint64_t version, const std::string& yaml) {
    if (auto e = ensure_dir(dir); !e.empty()) return e;
    return replace_file_atomically(version_file_path(dir, version), yaml);
}

BootChoice choose_boot(RemoteConfigState& s, std::int64_t now_ns, std::int64_t health_timeout_ms) {
    if (s.trial != 0) {
        s.report_version = s.trial;
        s.report_status = "rolled_back";
        s.report_reason = "the gateway stopped (killed, crashed or lost power) while version " +
                          std::to_string(s.trial) + " was on trial, before it passed the health gate";
        s.report_sha256.clear();
        s.trial = 0;
        s.trial_deadline_ns = 0;
    }
    if (s.pending != 0) {
        s.trial = s.pending;
        s.pending = 0;
        s.trial_deadline_ns = now_ns + health_timeout_ms * 1'000'000;
        return {s.trial, true};
    }
    return {s.good, false};
}

namespace {

struct Loaded {
    Config config;
    std::string text;
};

Loaded load_version(const std::string& dir, std::uint64_t version, const Config& local) {
    std::string path = version_file_path(dir, version);
    Loaded l{load_config(path), read_text(path)};
    if (auto change = locked_setting_change(local, l.config); !change.empty())
        throw std::runtime_error(path + ": " + change + " (the local file " + local.file + " now differs)");
    return l;
}

std::vector<std::string> changed_ports(const Config& before, const Config& after) {
    std::vector<std::string> out;
    for (const PortConfig& p : after.ports) {
        bool same = false;
        for (const PortConfig& q : before.ports)
            if (q.name == p.name && q.fingerprint == p.fingerprint) same = true;
        if (!same) out.push_back(p.name);
    }
    return out;
}

}  // namespace

Boot boot_config(const std::string& local_file, std::int64_t now_ns) {
    Boot boot;
    boot.local_file = local_file;
    boot.config = load_config(local_file);
    boot.sha256 = sha256_hex(read_text(local_file));
    if (!boot.config.remote_config.enabled) return boot;
    const Config local = boot.config;
    std::string dir = remote_config_dir(local);
    std::string state_path = state_file_path(dir);
    std::string problem;
    RemoteConfigState state = load_state(state_path, problem);
    if (!problem.empty()) {
        log::error("remote config: ", problem, "; the replay mark is unknown, so every remote update is refused "
                   "until the file is repaired; starting with the local file ", local_file);
        boot.state_problem = problem;
        return boot;
    }
    const RemoteConfigState before = state;
    BootChoice choice = choose_boot(state, now_ns, local.remote_config.health_timeout_ms);
    if (before.trial != 0) log::error("remote config: rolling back: ", state.report_reason);

    auto good_or_local = [&]() -> Loaded {
        if (state.good != 0) {
            try {
                return load_version(dir, state.good, local);
            } catch (const std::exception& e) {
                log::error("remote config: last-known-good version ", state.good, " cannot run (", e.what(),
                           "); starting with the local file ", local_file);
                state.good = 0;
            }
        }
        return Loaded{local, read_text(local_file)};
    };

    if (choice.trial) {
        try {
            Loaded trial = load_version(dir, choice.version, local);
            Loaded good = good_or_local();
            boot.changed_ports = changed_ports(good.config, trial.config);
            boot.config = std::move(trial.config);
            boot.sha256 = sha256_hex(trial.text);
            boot.version = choice.version;
            boot.trial = true;
        } catch (const std::exception& e) {
            state.report_version = choice.version;
            state.report_status = "rolled_back";
            state.report_reason = std::string("version cannot start: ") + e.what();
            state.trial = 0;
            state.trial_deadline_ns = 0;
            choice.trial = false;
        }
    }
    if (!choice.trial) {
        Loaded good = good_or_local();
        boot.version = state.good;
        boot.config = std::move(good.config);
        boot.sha256 = sha256_hex(good.text);
    }
    if (!(state == before)) {
        // The trial must be on disk before it runs: that record is what rolls back a start that dies.
        if (auto e = save_state(state_path, state); !e.empty()) {
            log::error("remote config: ", e, "; cannot record the trial, so starting with the local file");
            boot = Boot{};
            boot.local_file = local_file;
            boot.config = local;
            boot.sha256 = sha256_hex(read_text(local_file));
            return boot;
        }
    }
    if (boot.version != 0)
        log::info("remote config: running version ", boot.version, boot.trial ? " (on trial)" : "",
                  " from ", boot.config.file, "; `loopgate config revert` returns to ", local_file);
    return boot;
}

std::string revert_remote_config(const Config& local) {
    std::string dir = remote_config_dir(local);
    std::string problem;
    RemoteConfigState s = load_state(state_file_path(dir), problem);
    if (!problem.empty())
        return problem + "; not reverted: a revert keeps the highest version accepted (the replay mark), and "
                         "this file no longer says which it is. The gateway runs the local file meanwhile and "
                         "refuses every remote update; repair the line, or remove the file to accept any version "
                         "again";
    RemoteConfigState reverted;
    reverted.highest = s.highest;
    for (std::uint64_t v : {s.good, s.pending, s.trial})
        if (v != 0) ::unlink(version_file_path(dir, v).c_str());
    return save_state(state_file_path(dir), reverted);
}

}  // namespace loopgate
