#pragma once
// The replay window on disk: the ids of accepted commands, each until its command expires, so that
// a signed command captured off the broker is still refused after a restart or a crash.
//
// One small text file next to the store (<store.path>.command-ids), rewritten whole and atomically
// (temporary file, fsync, rename, fsync of the directory) after an id is accepted and BEFORE the
// command is carried out: a kill -9 right after the write still remembers it. Its size is bounded
// by commands.id_cache; expired ids are dropped at every write and at load.
//
// A file that exists but cannot be read or does not check out is reported, and the caller fails
// closed (gateway/downlink/command_handler.cpp): see README "Security", replay protection.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loopgate {

using ReplayIds = std::vector<std::pair<std::string, std::int64_t>>;  // id, expires_ns

// The file's text for these ids (any order in, sorted by expiry out).
std::string format_replay_window(const std::unordered_map<std::string, std::int64_t>& ids);
// Parses a file's text into the ids still live at `now_ns`; "" when it checks out, else why not.
// Never throws, whatever the text.
std::string parse_replay_window(std::string_view text, std::int64_t now_ns, ReplayIds& out);

struct ReplayWindow {
    ReplayIds ids;
    std::string problem;  // non-empty: the file exists but could not be read or is damaged
};

class ReplayJournal {
public:
    explicit ReplayJournal(std::string path) : path_(std::move(path)) {}
    const std::string& path() const { return path_; }
    // A missing file is an empty window (the first start).
    ReplayWindow load(std::int64_t now_ns) const;
    // Replaces the file with these ids; "" on success, else why it could not (errno text included).
    std::string save(const std::unordered_map<std::string, std::int64_t>& ids) const;

private:
    std::string path_;
};

}  // namespace loopgate
