#include "gateway/store.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace loopgate {

namespace {

struct Reset {
    sqlite3_stmt* s;
    ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
};

}  // namespace

Store::Store(const std::string& path, std::uint64_t max_bytes) : path_(path), max_bytes_(max_bytes) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error("store " + path + ": cannot open: " + why);
    }
    try {
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=FULL");
        exec("CREATE TABLE IF NOT EXISTS batches (sequence INTEGER PRIMARY KEY, created_ns INTEGER NOT NULL, "
             "payload BLOB NOT NULL)");
        exec("CREATE TABLE IF NOT EXISTS device_sequences (device TEXT PRIMARY KEY, sequence INTEGER NOT NULL)");
        exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
        // The highest sequence ever used, kept even after its batch is deleted, so ids never repeat.
        sqlite3_stmt* s = prepare(
            "SELECT max(coalesce((SELECT value FROM meta WHERE key='last_sequence'),0), "
            "coalesce((SELECT max(sequence) FROM batches),0)), "
            "(SELECT count(*) FROM batches), (SELECT coalesce(sum(length(payload)),0) FROM batches)");
        if (sqlite3_step(s) == SQLITE_ROW) {
            last_sequence_ = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            depth_ = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
            bytes_ = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
        }
        sqlite3_finalize(s);
        insert_ = prepare("INSERT INTO batches (sequence, created_ns, payload) VALUES (?, ?, ?)");
        upsert_device_ = prepare(
            "INSERT INTO device_sequences (device, sequence) VALUES (?, ?) "
            "ON CONFLICT(device) DO UPDATE SET sequence=excluded.sequence");
        select_after_ = prepare("SELECT sequence, created_ns, payload FROM batches WHERE sequence > ? "
                                "ORDER BY sequence LIMIT ?");
        delete_ = prepare("DELETE FROM batches WHERE sequence = ?");
    } catch (...) {
        sqlite3_close_v2(db_);
        throw;
    }
}

Store::~Store() {
    try {
        flush_removals();
    } catch (...) {
        // A failed delete costs a duplicate after restart, never a reading.
    }
    for (sqlite3_stmt* s : {insert_, upsert_device_, select_after_, delete_}) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
}

void Store::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string why = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        throw std::runtime_error("store " + path_ + ": " + why);
    }
}

sqlite3_stmt* Store::prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        throw std::runtime_error("store " + path_ + ": " + sqlite3_errmsg(db_));
    return s;
}

void Store::append(std::uint64_t sequence, std::int64_t created_ns, const std::string& payload,
                   const std::map<std::string, std::uint64_t>& device_sequences) {
    if (sequence <= last_sequence_) throw std::logic_error("store: batch sequence must increase");
    exec("BEGIN IMMEDIATE");
    try {
        {
            Reset r{insert_};
            sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(sequence));
            sqlite3_bind_int64(insert_, 2, created_ns);
            sqlite3_bind_blob(insert_, 3, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
            if (sqlite3_step(insert_) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
        }
        for (const auto& [device, seq] : device_sequences) {
            Reset r{upsert_device_};
            sqlite3_bind_text(upsert_device_, 1, device.data(), static_cast<int>(device.size()), SQLITE_STATIC);
            sqlite3_bind_int64(upsert_device_, 2, static_cast<sqlite3_int64>(seq));
            if (sqlite3_step(upsert_device_) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
        }
        exec("COMMIT");
    } catch (const std::exception& e) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw std::runtime_error("store " + path_ + ": cannot append batch: " + e.what());
    }
    last_sequence_ = sequence;
    ++depth_;
    bytes_ += payload.size();
    enforce_limit();
}

void Store::enforce_limit() {
    while (bytes_ > max_bytes_ && depth_ > 1) {
        auto oldest = read_after(0, 1);
        if (oldest.empty()) break;
        Reset r{delete_};
        sqlite3_bind_int64(delete_, 1, static_cast<sqlite3_int64>(oldest[0].sequence));
        if (sqlite3_step(delete_) != SQLITE_DONE) break;
        --depth_;
        bytes_ -= oldest[0].payload.size();
        ++dropped_;
    }
}

std::vector<StoredBatch> Store::read_after(std::uint64_t after, std::size_t limit) {
    std::vector<StoredBatch> out;
    Reset r{select_after_};
    sqlite3_bind_int64(select_after_, 1, static_cast<sqlite3_int64>(after));
    sqlite3_bind_int64(select_after_, 2, static_cast<sqlite3_int64>(limit));
    int rc;
    while ((rc = sqlite3_step(select_after_)) == SQLITE_ROW) {
        StoredBatch b;
        b.sequence = static_cast<std::uint64_t>(sqlite3_column_int64(select_after_, 0));
        b.created_ns = sqlite3_column_int64(select_after_, 1);
        auto* data = static_cast<const char*>(sqlite3_column_blob(select_after_, 2));
        b.payload.assign(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(select_after_, 2)));
        out.push_back(std::move(b));
    }
    if (rc != SQLITE_DONE) throw std::runtime_error("store " + path_ + ": cannot read: " + sqlite3_errmsg(db_));
    return out;
}

void Store::remove(std::uint64_t sequence) { pending_removals_.push_back(sequence); }

void Store::flush_removals() {
    if (pending_removals_.empty() || !db_) return;
    exec("BEGIN IMMEDIATE");
    std::uint64_t removed = 0, removed_bytes = 0;
    try {
        sqlite3_stmt* size = prepare("SELECT length(payload) FROM batches WHERE sequence = ?");
        for (std::uint64_t seq : pending_removals_) {
            sqlite3_bind_int64(size, 1, static_cast<sqlite3_int64>(seq));
            if (sqlite3_step(size) == SQLITE_ROW) {
                removed_bytes += static_cast<std::uint64_t>(sqlite3_column_int64(size, 0));
                ++removed;
            }
            sqlite3_reset(size);
            Reset r{delete_};
            sqlite3_bind_int64(delete_, 1, static_cast<sqlite3_int64>(seq));
            sqlite3_step(delete_);
        }
        sqlite3_finalize(size);
        // Remember the highest id so a restart with an empty table never reuses one.
        std::string sql = "INSERT INTO meta (key, value) VALUES ('last_sequence', " + std::to_string(last_sequence_) +
                          ") ON CONFLICT(key) DO UPDATE SET value=excluded.value";
        exec(sql.c_str());
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    pending_removals_.clear();
    depth_ -= std::min(depth_, removed);
    bytes_ -= std::min(bytes_, removed_bytes);
}

std::map<std::string, std::uint64_t> Store::device_sequences() {
    std::map<std::string, std::uint64_t> out;
    sqlite3_stmt* s = prepare("SELECT device, sequence FROM device_sequences");
    while (sqlite3_step(s) == SQLITE_ROW)
        out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] =
            static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
    sqlite3_finalize(s);
    return out;
}

std::optional<std::int64_t> Store::oldest_created_ns() {
    auto oldest = read_after(0, 1);
    if (oldest.empty()) return std::nullopt;
    return oldest[0].created_ns;
}

}  // namespace loopgate
