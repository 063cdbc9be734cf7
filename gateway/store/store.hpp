#pragma once
// The durable store-and-forward buffer.
//
// Readings are committed as they are read, not when their batch closes: a batch is a row in
// `batches` plus the parts appended to it, each part a serialized Batch holding some readings.
// Protobuf merges concatenated messages (repeated fields append), so a batch's payload is simply its
// parts concatenated in order. A batch is published only once closed; after a crash, batches left
// open are closed on the next start, so every committed reading goes out.
//
// Writes are queued in memory (gateway/store/write_queue.hpp) and committed together by commit(), each
// transaction through one guard (gateway/store/sql.hpp); opening and recovery are in store_open.cpp.
// The bridge commits after every read (or every commit_interval, trading a bounded loss window for
// fewer writes on SD cards). If a commit fails (disk full, I/O error) the queue is kept, bounded, and retried; meanwhile closed
// batches are handed out from memory in either mode (write-through too: once every batch committed
// before them is durable), under ids the id marks reserved ahead, so a full disk does not stop
// delivery. Their durable copy stays owed: written when the disk takes it again, unless the broker
// acknowledged them first (then it is not needed). What a crash takes meanwhile is that memory.
//
// SQLite settings: WAL mode, each commit one sequential append; the WAL is checkpointed
// automatically and truncated (at most wal_limit(), see below) and on close. On its own the store commits with synchronous=FULL
// (commit() returns once the WAL is on disk); the gateway has it sync in the background instead
// (sync_in_background: commits return at once, read_after() hands out only durable batches).
// Acknowledged batches are deleted in the next commit: losing a delete to a crash costs a
// duplicate, never a reading.
//
// Buffered (buffer_unacknowledged(), the gateway's default): what the broker acknowledges within the
// window never reaches the disk. Batches are handed out from memory as soon as they close; commit()
// is given a cut-off and writes only what was queued before it, and a batch acknowledged while still
// wholly in memory is simply forgotten. Ids stay unique without those writes: the id marks
// (gateway/store/id_marks.hpp) are reserved ahead in blocks, a clean close records the exact ids, and
// after a run that did not close cleanly ids continue above the marks. A crash or power cut loses at
// most the readings of the last window (plus one background sync), and says so with a gap in the
// device sequences.
//
// Wear: every page a commit touches is written twice (WAL, then checkpoint), so a commit of new
// readings touches as few as it can: one row per batch it writes to (the header and parts the commit
// holds, joined, and deflated when that saves a quarter: gateway/store/part_codec.hpp; rows are
// clustered by batch, no index), one row per device of `device_sequences` (write-through only). Batch
// totals are written when it closes; the id high-water mark in `meta` only when batches are deleted.
// A row is the unit of damage too: a part the disk changed costs the readings of its commit.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/write_queue.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace loopgate {

class WalSyncer;
class IdMarks;

struct StoredBatch {
    std::uint64_t sequence = 0;
    std::int64_t created_ns = 0;
    std::uint64_t readings = 0;
    std::string payload;
};

struct StoreLimits {
    std::uint64_t max_bytes = 1024ull * 1024 * 1024;
    std::int64_t max_age_ms = 0;                 // 0: no age limit
    std::uint64_t max_pending_bytes = 64 << 20;  // uncommitted writes held in memory while the disk fails
    bool drop_oldest = true;  // over max_bytes, commit() makes room by dropping the oldest unsent batches
};

struct StoreStats {
    std::uint64_t depth = 0;             // closed and open batches on disk
    std::uint64_t bytes = 0;             // payload bytes on disk
    std::uint64_t used_bytes = 0;        // database pages in use (what max_bytes limits)
    std::uint64_t file_bytes = 0;        // the database and its write-ahead log as files on disk
    std::uint64_t dropped_batches = 0;   // removed unsent by the size or age limit
    std::uint64_t dropped_readings = 0;  // ...and the readings in them, plus any lost from the memory queue
    std::uint64_t commit_failures = 0;
    std::uint64_t commits = 0;
    std::uint64_t syncs = 0;             // background syncs of the WAL (sync_in_background)
    std::uint64_t sync_failures = 0;
    std::uint64_t pending_bytes = 0;     // waiting in memory for a successful commit
    std::uint64_t damaged_parts = 0;     // stored parts whose checksum failed: never published, counted dropped
    std::uint64_t recoveries = 0;        // damaged stores (or logs) moved or copied aside at open
    std::uint64_t id_mark_failures = 0;  // failed writes of the id high-water marks (gateway/store/id_marks.hpp)
    std::uint64_t unwritten_batches = 0; // acknowledged while still in memory (buffered, or the disk refused writes), never written
    std::uint64_t read_failures = 0;     // reads the disk failed after open: the batches wait, the figures keep their last values
    std::string recovered_from;          // where a damaged store was moved (or copied) aside at open, if it was
};

// How the store reaches the disk. Production uses the defaults; the crash-consistency tests put a
// SQLite VFS that forgets unsynced writes, and a WAL sync that goes through it, in their place.
struct StoreOptions {
    std::string vfs;                                      // SQLite VFS name; empty: SQLite's default
    std::function<int(const std::string& path)> sync_wal; // empty: fdatasync (gateway/store/wal_syncer.hpp)
};

class Store {
public:
    // Opens (creating when needed) the store at `path`. A database that SQLite cannot read or that
    // fails its check is moved aside (with its -wal and -shm) to <path>.corrupt-<time> and a fresh
    // store is created. A write-ahead log damaged in the middle (gateway/store/wal_check.hpp) is copied
    // aside with the database the same way, and the store keeps what SQLite can still read. Either
    // way the event is logged, counted and in stats().recovered_from, and ids continue above the
    // marks kept in <path>.ids (gateway/store/id_marks.hpp). The three newest aside copies are kept.
    // Throws std::runtime_error naming the path when even a fresh store cannot be opened.
    Store(const std::string& path, const StoreLimits& limits, StoreOptions options = {});
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // The sequence the next batch must carry: strictly increasing, never reused, even across restarts.
    std::uint64_t next_sequence() const { return last_sequence_ + 1; }
    // Starts batch next_sequence(); `header` is its serialized gateway id / sequence / time fields.
    void open_batch(std::uint64_t sequence, std::int64_t created_ns, const std::string& header);
    // Adds readings (a serialized Batch with only readings) to the open batch, and the device
    // sequence high-water marks they reach.
    void append(std::uint64_t sequence, const std::string& part, std::uint64_t readings,
                const std::map<std::string, std::uint64_t>& device_sequences);
    void close_batch(std::uint64_t sequence);
    // Marks a batch acknowledged; it is deleted by the next commit (or, buffered and wholly in
    // memory still, forgotten at once).
    void remove(std::uint64_t sequence);

    using Clock = std::chrono::steady_clock;
    // Buffered mode (see the top of this file): writes wait `window` in memory for their
    // acknowledgement. Call before the first batch opens; marks this run as one that must close
    // cleanly for its ids to be exact (throws std::runtime_error if that mark cannot be written).
    void buffer_unacknowledged(std::chrono::milliseconds window);
    bool buffered() const { return window_.count() > 0; }
    // When the oldest queued write is due (buffered: queued + window), if anything is queued.
    std::optional<Clock::time_point> next_due() const;

    // Rewrites the parts of batches first..last, queued or on disk: `fix` returns a part's new bytes,
    // or nothing to leave it as it is. For facts learnt after readings were stored (the clock's step
    // at synchronization, see gateway/bridge/clock_watch.hpp): the store's copy is amended once, so
    // that publishing always sends the stored bytes. Parts whose checksum fails are left alone (they
    // are never published). One transaction per max_chunk_bytes() of rewritten bytes, each atomic;
    // returns false on failure (last_error()), the parts not reached yet left as they were.
    using PartFix = std::function<std::optional<std::string>(std::string_view part)>;
    bool rewrite_parts(std::uint64_t first, std::uint64_t last, const PartFix& fix);

    // Writes everything queued, in transactions of at most max_chunk_bytes(). Returns false on failure
    // (the error is in last_error()), keeping what is not written yet; over max_bytes it first drops
    // the oldest unsent batches (limits.drop_oldest) or writes no new readings until there is room.
    // Durable when it returns, unless syncing in the background.
    // With `max_chunks`, stops after that many transactions (true, has_uncommitted() still true), so
    // that the caller's event loop can publish between them while a backlog held in memory is written.
    // With `queued_before`, writes only what was queued before then (buffered mode's window), in order;
    // the rest of a batch that is partly written already is always due (it holds back the newer
    // batches, which go out after it).
    bool commit(std::size_t max_chunks = SIZE_MAX, Clock::time_point queued_before = Clock::time_point::max());
    // From here on a commit returns once written, and a thread of its own makes the WAL durable
    // (gateway/store/wal_syncer.hpp); batches are handed out by read_after() only once durable. `post`
    // runs a function on the owner's event loop; `on_durable` runs there when more became durable.
    void sync_in_background(std::function<void(std::function<void()>)> post, std::function<void()> on_durable);
    // Makes everything committed durable now, on the calling thread (shutdown).
    void sync_now();
    bool has_uncommitted() const { return !queue_.empty() || !removals_.empty(); }
    bool has_removals() const { return !removals_.empty(); }
    // Something commit(max_chunks, queued_before) would write.
    bool has_due(Clock::time_point queued_before) const;
    const std::string& last_error() const { return last_error_; }

    // Closed and durable batches, oldest first, sequence > after; buffered, also the closed batches
    // still wholly in memory.
    std::vector<StoredBatch> read_after(std::uint64_t after, std::size_t limit);
    std::uint64_t last_sequence() const { return last_sequence_; }
    // The newest batch read_after() may hand out: closed, and its readings durable.
    std::uint64_t durable_through() const { return durable_closed_; }
    std::map<std::string, std::uint64_t> device_sequences();
    // Where a device the store does not know starts counting: 0, unless a recovery found no marks.
    std::uint64_t unknown_device_floor() const { return unknown_device_floor_; }
    std::optional<std::int64_t> oldest_created_ns();

    // Drops the oldest closed batches older than max_age and, when `drop_for_size`, while the store
    // is over max_bytes; never one that is in flight (see protect_in_flight) or acknowledged.
    void enforce_limits(std::int64_t now_ns, bool drop_for_size);
    bool over_limit() const;
    // Tells the store which batches the uplink has in flight, so that the limits leave them alone.
    void protect_in_flight(std::function<bool(std::uint64_t)> in_flight) { in_flight_ = std::move(in_flight); }

    // What the files may hold beyond max_bytes: the write-ahead log is checkpointed and truncated at
    // wal_limit() (4 MiB, or a quarter of max_bytes if less), and a transaction writes at most
    // max_chunk_bytes() (1 MiB, or an eighth of max_bytes) of new parts.
    std::uint64_t wal_limit() const;
    std::uint64_t max_chunk_bytes() const;

    const StoreStats& stats() const { return stats_; }

private:
    // Opening, recovery and layout upgrades: gateway/store/store_open.cpp.
    void open_or_recover();
    void adopt_id_marks(bool recovered);
    void open_database();
    void count_recovery(const std::string& aside);  // a damaged store (or log) was moved or copied aside
    // One transaction: the first `ops` queued writes and every pending removal.
    bool commit_one_chunk(std::size_t ops);
    void refresh_sizes();
    void recount();  // depth and bytes from the database
    void refresh_used();
    // A PRAGMA that answers one number (page_size, page_count, ...); throws sql::Error when it cannot.
    std::uint64_t pragma_number(const char* sql);
    // A read the disk failed while running: counted, and logged with what happens `meanwhile`; the
    // caller keeps what it had.
    void read_failed(const std::exception& e, const char* meanwhile);
    std::optional<std::int64_t> oldest_known_;  // what oldest_created_ns() last read
    int sync_wal();
    void id_marks_failed();
    bool logged_marks_failure_ = false;
    void count_lost_queue();
    void close_database();
    void exec(const char* sql);
    sqlite3_stmt* prepare(const char* sql);
    // Writes `op` and, for a header or part, the parts of its batch that follow it up to `end`, in one
    // row; adds the bytes stored to `stored_bytes`. Returns the first op not written.
    using Writes = std::deque<WriteQueue::Write>::const_iterator;
    Writes apply(Writes op, Writes end, std::uint64_t& stored_bytes);
    void close_in_db(std::uint64_t sequence);
    void save_device_sequences(std::size_t ops);
    void write_device_sequences(const std::map<std::string, std::uint64_t>& high);
    void save_last_sequence();
    void synced(std::uint64_t ticket, int error);
    void sync_failed(int error);
    void advance_durable();
    void drop_batch(std::uint64_t sequence);
    // stats_.pending_bytes follows the queue after every change to it.
    void count_pending() { stats_.pending_bytes = queue_.pending_bytes(); }
    void set_meta(const char* key, std::int64_t value);
    std::int64_t meta(const char* key, std::int64_t fallback);
    bool save_exact_ids();
    // read_after() from the database, for batches up to db_newest_; throws sql::Error when a read fails.
    std::vector<StoredBatch> read_stored_after(std::uint64_t after, std::size_t limit);
    // Merges the closed in-memory batches after `after` into `good` (batches read from the database).
    std::vector<StoredBatch> from_memory(std::uint64_t after, std::size_t limit, std::vector<StoredBatch> good);
    // The batch at the queue's front, partly committed, closed in the queue: its rows and its queued
    // parts, for the time the disk refuses the rest. Nothing if it is not closed yet, a row is
    // damaged, or its ids are not reserved.
    std::optional<StoredBatch> partly_written(std::uint64_t sequence);
    // The id marks are ahead of a batch id and these device sequences: they may go out.
    bool ids_reserved(std::uint64_t sequence, const std::map<std::string, std::uint64_t>& devices) const;

    std::string path_;
    StoreLimits limits_;
    StoreOptions options_;
    std::unique_ptr<IdMarks> marks_;
    std::map<std::string, std::uint64_t> device_floor_;  // from the marks, after a recovery
    std::uint64_t unknown_device_floor_ = 0;
    std::uint64_t page_size_ = 0;  // of the open database, read when it opens
    sqlite3* db_ = nullptr;
    std::map<std::string, sqlite3_stmt*> statements_;
    std::uint64_t last_sequence_ = 0;
    std::uint64_t next_part_ = 0;  // index of the open batch's next part
    WriteQueue queue_;  // writes waiting for a commit, and the batches still wholly in memory
    std::chrono::milliseconds window_{0};  // buffered mode when > 0
    std::map<std::string, std::uint64_t> handed_out_;  // device sequences given to readings this run
    bool previous_run_unclean_ = false;  // a buffered run that did not close cleanly came before
    std::vector<std::uint64_t> removals_;
    std::string last_error_;
    bool refusing_ = false;  // the last commit failed: the disk (or max_bytes) refuses writes
    // <path>.unstored: set while write-through batches may have gone out that the store does not hold.
    void open_unstored_mark();
    bool set_unstored_mark(bool set);
    int unstored_fd_ = -1;
    bool unstored_found_ = false;   // set at open: the last run did not close cleanly after setting it
    bool unstored_marked_ = false;  // set by this run
    StoreStats stats_;
    // Durability bookkeeping: commits that wrote readings are numbered; a closed batch may be
    // handed out once the commits holding its readings are durable.
    std::uint64_t data_commits_ = 0;
    std::uint64_t durable_commits_ = 0;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> closes_waiting_;  // (batch, data commits it needs)
    std::uint64_t durable_closed_ = 0;  // newest batch that may be handed out
    // No batch row in the database has a higher sequence. Buffered with a healthy uplink, batches
    // never reach the database: read_after() then skips SQLite altogether.
    std::uint64_t db_newest_ = 0;
    std::function<void(std::function<void()>)> post_;
    std::function<void()> on_durable_;
    std::function<bool(std::uint64_t)> in_flight_;
    std::unique_ptr<WalSyncer> syncer_;  // last: joined before the rest goes
};

}  // namespace loopgate
