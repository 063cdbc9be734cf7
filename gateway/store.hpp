#pragma once
// The durable store-and-forward buffer: every batch is committed here before it is published, and
// stays until the broker has acknowledged it.
//
// SQLite in WAL mode with synchronous=FULL: a commit returns only once the WAL is on disk, so a
// power cut after append() loses nothing; WAL keeps readers and the single writer from blocking and
// makes each commit one sequential append (kind to SD cards). Acknowledged batches are deleted in
// groups (see remove), since losing a delete costs only a duplicate, never a reading.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace loopgate {

struct StoredBatch {
    std::uint64_t sequence = 0;
    std::int64_t created_ns = 0;
    std::string payload;
};

class Store {
public:
    // Opens (creating when needed) the store at `path`; throws std::runtime_error naming the path.
    Store(const std::string& path, std::uint64_t max_bytes);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // The sequence the next append must carry (batch ids are stable across restarts).
    std::uint64_t next_sequence() const { return last_sequence_ + 1; }

    // Commits one batch and the per-device sequence high-water marks it advances, atomically.
    // Drops the oldest batches when over max_bytes (counted in dropped_batches()).
    void append(std::uint64_t sequence, std::int64_t created_ns, const std::string& payload,
                const std::map<std::string, std::uint64_t>& device_sequences);

    // Oldest first, sequence > after.
    std::vector<StoredBatch> read_after(std::uint64_t after, std::size_t limit);

    // Marks a batch acknowledged; deletions are committed together by flush_removals().
    void remove(std::uint64_t sequence);
    void flush_removals();

    std::map<std::string, std::uint64_t> device_sequences();

    std::uint64_t depth() const { return depth_; }
    std::uint64_t bytes() const { return bytes_; }
    std::optional<std::int64_t> oldest_created_ns();
    std::uint64_t dropped_batches() const { return dropped_; }

private:
    void exec(const char* sql);
    sqlite3_stmt* prepare(const char* sql);
    void enforce_limit();

    std::string path_;
    std::uint64_t max_bytes_;
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_ = nullptr;
    sqlite3_stmt* upsert_device_ = nullptr;
    sqlite3_stmt* select_after_ = nullptr;
    sqlite3_stmt* delete_ = nullptr;
    std::uint64_t last_sequence_ = 0;
    std::uint64_t depth_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t dropped_ = 0;
    std::vector<std::uint64_t> pending_removals_;
};

}  // namespace loopgate
