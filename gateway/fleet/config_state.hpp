#pragma once
// Where remotely applied configurations live and which one a start runs.
//
// <state dir>/config/ (the state dir holds the store, so it is writable under systemd's
// StateDirectory= and survives upgrades) holds one <version>.yaml per accepted update and `state`, a
// few key=value lines. Both are written to a temporary file, synced and renamed (core/atomic_file),
// so a power cut leaves the old file or the new one.
//
// Boot selection: a pending version (accepted, never started) gets exactly one start, as the "trial";
// the trial is recorded before the gateway starts with it. A start that finds a trial still recorded
// knows the previous one died with it (kill -9, crash, power cut) before the health gate passed: it
// rolls back and runs the last-known-good version, or the local file when there is none.

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/config.hpp"

namespace loopgate {

struct RemoteConfigState {
    std::uint64_t highest = 0;          // the highest version ever accepted: older ones are replays
    std::uint64_t good = 0;             // last-known-good; 0 = the local file
    std::uint64_t pending = 0;          // accepted and saved, not yet started
    std::uint64_t trial = 0;            // started once, not yet through the health gate
    std::int64_t trial_deadline_ns = 0; // wall clock by which the trial must be healthy
    // An outcome (applied / rolled back) not yet published on the reply topic.
    std::uint64_t report_version = 0;
    std::string report_status;          // "applied" | "rolled_back"
    std::string report_reason;
    std::string report_sha256;

    bool operator==(const RemoteConfigState& o) const;
};

std::string remote_config_dir(const Config& local);  // <directory of store.path>/config
std::string state_file_path(const std::string& dir);
std::string version_file_path(const std::string& dir, std::uint64_t version);

// A missing file is the empty state. A present one that cannot be read sets `problem`, located
// ("<path>:<line>: ..."), and returns the empty state, whose highest (0) is NOT the replay mark: the
// mark is unknown then, and the caller refuses every update rather than accept a replayed one.
RemoteConfigState load_state(const std::string& path, std::string& problem);
std::string format_state(const RemoteConfigState& s);
RemoteConfigState parse_state(const std::string& text, std::string& problem);
// "" on success, else what failed, naming the file.
std::string save_state(const std::string& path, const RemoteConfigState& s);
std::string save_version(const std::string& dir, std::uint64_t version, const std::string& yaml);

struct BootChoice {
    std::uint64_t version = 0;  // 0: the local file
    bool trial = false;         // true: must pass the health gate or roll back
};

// The pure part of boot selection: which version this start runs, and the state to record before
// running it (a pending version becomes the trial; an abandoned trial becomes a rollback report).
BootChoice choose_boot(RemoteConfigState& state, std::int64_t now_ns, std::int64_t health_timeout_ms);

// What `loopgate run` starts with, and what it knows about it.
struct Boot {
    Config config;
    std::string local_file;             // the factory default (/etc/loopgate/loopgate.yaml)
    std::uint64_t version = 0;          // 0: the local file
    std::string sha256;                 // of the running YAML text
    bool trial = false;
    std::vector<std::string> changed_ports;  // in a trial: ports new or changed since last-known-good
    std::string state_problem;          // the state file is unreadable (located): running the local file
};

// Loads the local file, then (with remote_config.enabled) the version the state selects. An
// unreadable state file is left as it is (writing it would lose the replay mark) and the local file
// runs, with the problem in the log and in Boot::state_problem. A remote
// version that cannot be loaded, or that no longer keeps the local file's locked settings (an owner
// changed the keys in /etc), is rolled back or skipped with an error in the log; the local file's
// own errors throw ConfigError as ever.
Boot boot_config(const std::string& local_file, std::int64_t now_ns);

// `loopgate config revert`: forget every remote version, so the next start runs the local file. The
// highest version seen stays recorded: a revert must not make old updates acceptable again, so an
// unreadable state file is not reverted (the error says so, and what to do).
std::string revert_remote_config(const Config& local);

}  // namespace loopgate
