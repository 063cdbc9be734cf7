#include "gateway/store/store.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/log.hpp"
#include "gateway/store/crc32c.hpp"
#include "gateway/store/id_marks.hpp"
#include "gateway/store/part_codec.hpp"
#include "gateway/store/sql.hpp"
#include "gateway/store/store_layout.hpp"
#include "gateway/store/wal_syncer.hpp"

namespace loopgate {

namespace {

constexpr std::size_t commit_ops_max = 4096;

// More than a row can hold once inflated (a row holds at most a commit chunk, 1 MiB, of raw parts):
// beyond this a stored row is damaged, not large.
constexpr std::size_t part_max_raw_bytes = 64u << 20;
// Totals of a batch from its parts: for a close, and for batches a crash left open.
const char* const close_sql =
    "UPDATE batches SET closed = 1, "
    "readings = (SELECT coalesce(sum(readings), 0) FROM parts WHERE id BETWEEN ?1 AND ?2), "
    "bytes = (SELECT coalesce(sum(length(payload)), 0) FROM parts WHERE id BETWEEN ?1 AND ?2) "
    "WHERE sequence = ?3";

// Appends a stored row's raw bytes (its payload, crc and encoding in columns `payload`, +1 and +2 of
// `row`) to `out`. False, `out` left as it was, when the row is damaged: its checksum fails (the disk
// changed it) or it does not inflate whole.
bool append_intact_row(sqlite3_stmt* row, int payload, std::string& out) {
    auto* data = static_cast<const char*>(sqlite3_column_blob(row, payload));
    std::string_view stored(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(row, payload)));
    if (sqlite3_column_type(row, payload + 1) != SQLITE_NULL &&
        static_cast<std::uint32_t>(sqlite3_column_int64(row, payload + 1)) != crc32c(stored))
        return false;
    int encoding = sqlite3_column_int(row, payload + 2);
    if (encoding == static_cast<int>(PartEncoding::raw)) {
        out.append(stored);
        return true;
    }
    auto raw = decode_part(stored, encoding, part_max_raw_bytes);
    if (!raw) return false;
    out += *raw;
    return true;
}

using store_layout::first_part;
using store_layout::last_part;
using store_layout::part_bits;

}  // namespace

bool Store::set_unstored_mark(bool set) {
    char mark = set ? '1' : '0';
    if (unstored_fd_ < 0 || ::pwrite(unstored_fd_, &mark, 1, 0) != 1 || ::fdatasync(unstored_fd_) != 0) return false;
    unstored_marked_ = set;
    return true;
}

void Store::close_database() {
    page_size_ = 0;
    for (auto& [sql, s] : statements_) sqlite3_finalize(s);
    statements_.clear();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

void Store::close_in_db(std::uint64_t sequence) {
    sqlite3_stmt* s = prepare(close_sql);
    sql::Reset r{s};
    sqlite3_bind_int64(s, 1, first_part(sequence));
    sqlite3_bind_int64(s, 2, last_part(sequence));
    sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(sequence));
    sql::step_done(s);
}

Store::~Store() {
    bool clean = commit();
    if (!clean) count_lost_queue();
    if (syncer_) {
        sync_now();
        syncer_.reset();
    }
    if ((buffered() || previous_run_unclean_ || unstored_marked_ || unstored_found_) && db_) {
        // Readings lost above mean gaps the next start must keep: it then continues above the marks.
        if (clean && !save_exact_ids())
            log::warning("store ", path_, ": cannot record the last ids (", last_error_,
                         "); the next start continues above the id marks");
        else if (clean && (unstored_marked_ || unstored_found_))
            set_unstored_mark(false);
    }
    if (unstored_fd_ >= 0) ::close(unstored_fd_);
    close_database();
}

void Store::exec(const char* statement) { sql::exec(db_, statement); }

sqlite3_stmt* Store::prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
        sqlite3_reset(it->second);
        sqlite3_clear_bindings(it->second);
        return it->second;
    }
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK)
        throw sql::Error("store " + path_ + ": cannot prepare " + sql + ": " + sqlite3_errmsg(db_) + " (SQLite code " +
                             std::to_string(rc) + ")",
                         rc);
    statements_.emplace(sql, s);
    return s;
}

void Store::open_batch(std::uint64_t sequence, std::int64_t created_ns, const std::string& header) {
    if (sequence != last_sequence_ + 1) throw std::logic_error("store: batches must open in sequence");
    last_sequence_ = sequence;
    next_part_ = 1;
    // The marks must be ahead of an id before it can reach the broker; written once per block.
    if (!marks_->cover_batch(sequence)) id_marks_failed();
    else if (marks_->failures() > 0) logged_marks_failure_ = false;
    // Write-through keeps the batch in memory too, for the time the disk refuses writes (from_memory()).
    queue_.open(sequence, created_ns, header, Clock::now());
    count_pending();
}

void Store::append(std::uint64_t sequence, const std::string& part, std::uint64_t readings,
                   const std::map<std::string, std::uint64_t>& device_sequences) {
    if (sequence != last_sequence_ || next_part_ >= (1u << part_bits)) throw std::logic_error("store: part outside the open batch");
    if (!marks_->cover(0, device_sequences)) id_marks_failed();
    for (const auto& [device, seq] : device_sequences) handed_out_[device] = std::max(handed_out_[device], seq);
    stats_.dropped_readings +=
        queue_.append(sequence, static_cast<std::uint32_t>(next_part_++), part, readings, device_sequences, Clock::now());
    count_pending();
}

void Store::close_batch(std::uint64_t sequence) { queue_.close(sequence, Clock::now()); }

void Store::remove(std::uint64_t sequence) {
    // Acknowledged before any of it was written: the wear buffered mode exists to save.
    if (queue_.remove(sequence)) ++stats_.unwritten_batches;
    else removals_.push_back(sequence);
    count_pending();
}

void Store::buffer_unacknowledged(std::chrono::milliseconds window) {
    if (!queue_.empty() || window.count() <= 0) throw std::logic_error("store: buffer_unacknowledged before the first batch");
    // Until this run closes cleanly, its ids are known only to the marks: a start after a crash
    // continues above them.
    try {
        set_meta("unclean_buffered_run", 1);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string(e.what()) + " (marking the store as in use)");
    }
    window_ = window;
}

std::optional<Store::Clock::time_point> Store::next_due() const {
    auto oldest = queue_.oldest_queued();
    if (!oldest) return std::nullopt;
    // The rest of a batch already partly written waits its window like any write: made due at once,
    // each part appended to the open batch during an outage cost a commit of its own (three or four
    // commits per window instead of one, 6-10 bytes written per payload byte at 100 readings/s).
    // A commit that happens anyway takes them along (due()).
    return *oldest + window_;
}

bool Store::has_due(Clock::time_point queued_before) const { return !removals_.empty() || queue_.front_due(queued_before); }

void Store::set_meta(const char* key, std::int64_t value) {
    sqlite3_stmt* m = prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    sql::Reset r{m};
    sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m, 2, value);
    sql::step_done(m);
}

std::int64_t Store::meta(const char* key, std::int64_t fallback) {
    sqlite3_stmt* m = prepare("SELECT value FROM meta WHERE key = ?");
    sql::Reset r{m};
    sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
    return sql::step_row(m) ? sqlite3_column_int64(m, 0) : fallback;
}

bool Store::save_exact_ids() {
    // A clean close of a buffered run: the ids handed out are written exactly, so the next start
    // continues right after them instead of above the marks.
    try {
        sql::Transaction transaction(db_);
        write_device_sequences(handed_out_);
        save_last_sequence();
        set_meta("unclean_buffered_run", 0);
        transaction.commit();
        return true;
    } catch (const std::exception& e) {
        last_error_ = e.what();
        return false;
    }
}

bool Store::rewrite_parts(std::uint64_t first, std::uint64_t last, const PartFix& fix) {
    queue_.rewrite(first, last, fix);
    count_pending();
    if (!db_) return false;
    sqlite3_int64 after = first_part(first) - 1;
    for (bool more = true; more;) {
        // A chunk is read, then written: rows changed under a SELECT still stepping are undefined.
        std::vector<std::pair<sqlite3_int64, EncodedPart>> chunk;
        std::size_t bytes = 0;
        std::int64_t grown = 0;
        more = false;
        {
            sqlite3_stmt* s = prepare("SELECT id, payload, crc, encoding FROM parts WHERE id > ? AND id <= ? ORDER BY id");
            sql::Reset r{s};
            sqlite3_bind_int64(s, 1, after);
            sqlite3_bind_int64(s, 2, last_part(last));
            try {
                while (!more && sql::step_row(s)) {
                    after = sqlite3_column_int64(s, 0);
                    std::string raw;
                    // Damaged: read_after() drops and counts it; a new checksum would hide that.
                    if (!append_intact_row(s, 1, raw)) continue;
                    auto fixed = fix(raw);
                    if (!fixed) continue;
                    bytes += fixed->size();
                    EncodedPart row = encode_part(*fixed);
                    grown += static_cast<std::int64_t>(row.bytes.size()) - sqlite3_column_bytes(s, 1);
                    chunk.emplace_back(after, std::move(row));
                    more = bytes >= max_chunk_bytes();
                }
            } catch (const sql::Error& e) {
                last_error_ = e.what();
                return false;
            }
        }
        if (chunk.empty()) continue;
        try {
            sql::Transaction transaction(db_);
            std::set<std::uint64_t> batches;
            for (const auto& [id, row] : chunk) {
                sqlite3_stmt* u = prepare("UPDATE parts SET payload = ?, crc = ?, encoding = ? WHERE id = ?");
                sql::Reset r{u};
                sqlite3_bind_blob(u, 1, row.bytes.data(), static_cast<int>(row.bytes.size()), SQLITE_STATIC);
                sqlite3_bind_int64(u, 2, crc32c(row.bytes));
                if (row.encoding == PartEncoding::raw) sqlite3_bind_null(u, 3);
                else sqlite3_bind_int(u, 3, static_cast<int>(row.encoding));
                sqlite3_bind_int64(u, 4, id);
                sql::step_done(u);
                batches.insert(static_cast<std::uint64_t>(id) >> part_bits);
            }
            // Open batches get their totals when they close.
            for (std::uint64_t seq : batches) {
                sqlite3_stmt* b = prepare(
                    "UPDATE batches SET bytes = (SELECT coalesce(sum(length(payload)), 0) FROM parts WHERE id BETWEEN ?1 AND ?2) "
                    "WHERE sequence = ?3 AND closed = 1");
                sql::Reset r{b};
                sqlite3_bind_int64(b, 1, first_part(seq));
                sqlite3_bind_int64(b, 2, last_part(seq));
                sqlite3_bind_int64(b, 3, static_cast<sqlite3_int64>(seq));
                sql::step_done(b);
            }
            transaction.commit();
        } catch (const std::exception& e) {
            ++stats_.commit_failures;
            last_error_ = e.what();
            return false;
        }
        ++stats_.commits;
        // The parts of an open batch are counted as they are committed, not in its row: adjust.
        stats_.bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(stats_.bytes) + grown));
    }
    refresh_used();
    return true;
}

void Store::recount() {
    sqlite3_stmt* s = prepare("SELECT count(*), coalesce(sum(bytes),0) FROM batches");
    sql::Reset r{s};
    try {
        if (sql::step_row(s)) {
            stats_.depth = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            stats_.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
        }
    } catch (const sql::Error& e) {
        read_failed(e, "the backlog's figures keep their last values");
    }
}

void Store::read_failed(const std::exception& e, const char* meanwhile) {
    ++stats_.read_failures;
    log::error(e.what(), "; ", meanwhile);  // what() names the store and the statement
}

Store::Writes Store::apply(Writes op, Writes end, std::uint64_t& stored_bytes) {
    using Write = WriteQueue::Write;
    if (op->kind == Write::close) {
        close_in_db(op->sequence);
        return std::next(op);
    }
    if (op->kind == Write::open) {
        sqlite3_stmt* s = prepare("INSERT INTO batches (sequence, created_ns) VALUES (?, ?)");
        sql::Reset r{s};
        sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(op->sequence));
        sqlite3_bind_int64(s, 2, op->created_ns);
        sql::step_done(s);
        db_newest_ = std::max(db_newest_, op->sequence);
    }
    // A batch's header (its first part) or part, and the parts of the batch this commit writes after
    // it, go into one row under the first one's id: one row's overhead, deflated together
    // (part_codec.hpp).
    auto last = std::next(op);
    std::uint64_t readings = op->readings;
    std::size_t raw_size = op->bytes.size();
    for (; last != end && last->kind == Write::part && last->sequence == op->sequence; ++last) {
        readings += last->readings;
        raw_size += last->bytes.size();
    }
    std::string joined;
    if (std::next(op) != last) {
        joined.reserve(raw_size);
        for (auto it = op; it != last; ++it) joined += it->bytes;
    }
    EncodedPart row = encode_part(std::next(op) != last ? std::string_view(joined) : std::string_view(op->bytes));
    sqlite3_stmt* s = prepare("INSERT INTO parts (id, readings, payload, crc, encoding) VALUES (?, ?, ?, ?, ?)");
    sql::Reset r{s};
    sqlite3_bind_int64(s, 1, first_part(op->sequence) + op->index);
    sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(readings));
    sqlite3_bind_blob(s, 3, row.bytes.data(), static_cast<int>(row.bytes.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, crc32c(row.bytes));
    if (row.encoding == PartEncoding::raw) sqlite3_bind_null(s, 5);
    else sqlite3_bind_int(s, 5, static_cast<int>(row.encoding));
    sql::step_done(s);
    stored_bytes += row.bytes.size();
    return last;
}

void Store::save_device_sequences(std::size_t ops) {
    // One upsert per device per commit, however many parts the commit holds.
    std::map<std::string, std::uint64_t> high;
    const auto& writes = queue_.writes();
    for (auto op = writes.begin(); op != writes.begin() + static_cast<std::ptrdiff_t>(ops); ++op)
        for (const auto& [device, seq] : op->devices) high[device] = std::max(high[device], seq);
    write_device_sequences(high);
}

void Store::write_device_sequences(const std::map<std::string, std::uint64_t>& high) {
    for (const auto& [device, seq] : high) {
        sqlite3_stmt* d = prepare(
            "INSERT INTO device_sequences (device, sequence) VALUES (?, ?) "
            "ON CONFLICT(device) DO UPDATE SET sequence = max(sequence, excluded.sequence)");
        sql::Reset r{d};
        sqlite3_bind_text(d, 1, device.data(), static_cast<int>(device.size()), SQLITE_STATIC);
        sqlite3_bind_int64(d, 2, static_cast<sqlite3_int64>(seq));
        sql::step_done(d);
    }
}

void Store::save_last_sequence() {
    // Needed only once batches are deleted: until then max(sequence) of `batches` says the same.
    set_meta("last_sequence", static_cast<std::int64_t>(last_sequence_));
}

void Store::drop_batch(std::uint64_t sequence) {
    sqlite3_stmt* p = prepare("DELETE FROM parts WHERE id BETWEEN ? AND ?");
    {
        sql::Reset r{p};
        sqlite3_bind_int64(p, 1, first_part(sequence));
        sqlite3_bind_int64(p, 2, last_part(sequence));
        sql::step_done(p);
    }
    sqlite3_stmt* b = prepare("DELETE FROM batches WHERE sequence = ?");
    sql::Reset r{b};
    sqlite3_bind_int64(b, 1, static_cast<sqlite3_int64>(sequence));
    sql::step_done(b);
}

bool Store::commit(std::size_t max_chunks, Clock::time_point queued_before) {
    // In chunks of at most max_chunk_bytes(): after a full disk, memory may hold more than the
    // disk has room for in one transaction, and each chunk that fits is progress kept.
    for (std::size_t chunks = 0; has_due(queued_before) && chunks < max_chunks; ++chunks) {
        auto [ops, bytes] = queue_.chunk(queued_before, max_chunk_bytes(), commit_ops_max);
        // Never grow past max_bytes, even when memory holds more than that after a full disk.
        if (bytes > 0 && over_limit()) {
            if (limits_.drop_oldest) enforce_limits(0, true);
            if (over_limit()) {
                last_error_ = "store " + path_ + ": full (store.max_bytes " + std::to_string(limits_.max_bytes) + " bytes)";
                refusing_ = true;
                if (removals_.empty()) return false;
                ops = 0;  // deletions still go through: they make the room
            }
        }
        if (!commit_one_chunk(ops)) return false;
        refresh_used();
        if (ops == 0 && has_due(queued_before)) return false;
    }
    return true;
}

bool Store::commit_one_chunk(std::size_t ops) {
    if (!db_) return false;
    Writes chunk_begin = queue_.writes().begin(), chunk_end = chunk_begin + static_cast<std::ptrdiff_t>(ops);
    // Only new readings need to reach the disk before commit() returns. Closing a batch or deleting
    // an acknowledged one may be lost to a power cut at the cost of a duplicate (a lost close is
    // redone at start), so those transactions skip the sync; the next synced commit carries them
    // to disk too, since the WAL is written in order.
    // (With a background syncer every commit runs that way, and the syncer does the syncing.)
    bool has_data = std::any_of(chunk_begin, chunk_end, [](const WriteQueue::Write& w) { return w.kind != WriteQueue::Write::close; });
    bool skip_sync = !has_data && !syncer_;
    std::uint64_t stored_bytes = 0;
    try {
        if (skip_sync) exec("PRAGMA synchronous=NORMAL");
        {
            sql::Transaction transaction(db_);
            for (std::uint64_t seq : removals_) drop_batch(seq);
            if (!removals_.empty()) save_last_sequence();
            for (auto op = chunk_begin; op != chunk_end;) op = apply(op, chunk_end, stored_bytes);
            // Buffered, the id marks and the clean-close record keep the device sequences: one page
            // less per commit.
            if (!buffered()) save_device_sequences(ops);
            transaction.commit();
        }
        if (skip_sync) exec("PRAGMA synchronous=FULL");
    } catch (const std::exception& e) {
        if (skip_sync) sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
        ++stats_.commit_failures;
        last_error_ = e.what();
        refusing_ = true;
        return false;
    }
    ++stats_.commits;
    stats_.bytes += stored_bytes;
    if (has_data) ++data_commits_;
    refusing_ = false;
    // Counters follow the committed state. Batches whose header this commit wrote are partly on
    // disk from now on, and handed out from there. (Not before the commit: a transaction the disk
    // refuses leaves them wholly in memory still.)
    WriteQueue::Committed done = queue_.committed(ops);
    count_pending();
    stats_.depth += done.opened;
    for (std::uint64_t sequence : done.closed) closes_waiting_.emplace_back(sequence, data_commits_);
    if (!syncer_) durable_commits_ = data_commits_;
    else if (durable_commits_ < data_commits_) syncer_->request(data_commits_);  // also retries a failed one
    advance_durable();
    if (!removals_.empty()) {
        recount();  // removals may include batches the limits dropped already
        removals_.clear();
    }
    return true;
}

void Store::count_lost_queue() {
    // Readings that never reached the disk are dropped: counted and said, never silently.
    std::uint64_t readings = queue_.lose_all();
    stats_.dropped_readings += readings;
    log::error("store: ", last_error_, "; ", readings, " readings held in memory could not be stored and are lost (",
               stats_.dropped_readings, " readings dropped in all)");
    count_pending();
}

void Store::sync_in_background(std::function<void(std::function<void()>)> post, std::function<void()> on_durable) {
    if (syncer_) return;
    if (!commit()) throw std::runtime_error(last_error_);
    post_ = std::move(post);
    on_durable_ = std::move(on_durable);
    exec("PRAGMA synchronous=NORMAL");
    syncer_ = std::make_unique<WalSyncer>(
        path_ + "-wal", [this](std::uint64_t ticket, int error) { post_([this, ticket, error] { synced(ticket, error); }); },
        options_.sync_wal);
}

void Store::sync_failed(int error) {
    ++stats_.sync_failures;
    log::error("store ", path_, ": cannot make the write-ahead log durable: ", std::strerror(error),
               "; batches wait until a later sync succeeds");
}

void Store::synced(std::uint64_t ticket, int error) {
    if (error != 0) return sync_failed(error);
    ++stats_.syncs;
    durable_commits_ = std::max(durable_commits_, ticket);
    advance_durable();
    if (on_durable_) on_durable_();
}

void Store::sync_now() {
    if (!syncer_ || durable_commits_ == data_commits_) return;
    if (int error = syncer_->sync_now(); error != 0) return sync_failed(error);
    durable_commits_ = data_commits_;
    advance_durable();
}

void Store::advance_durable() {
    while (!closes_waiting_.empty() && closes_waiting_.front().second <= durable_commits_) {
        durable_closed_ = closes_waiting_.front().first;
        closes_waiting_.pop_front();
    }
}

std::vector<StoredBatch> Store::read_after(std::uint64_t after, std::size_t limit) {
    if (after >= db_newest_) return from_memory(after, limit, {});
    try {
        return read_stored_after(after, limit);
    } catch (const sql::Error&) {
        ++stats_.read_failures;  // the caller logs it; the batches wait for the next read
        throw;
    }
}

std::vector<StoredBatch> Store::read_stored_after(std::uint64_t after, std::size_t limit) {
    std::vector<StoredBatch> out;
    sqlite3_stmt* s = prepare(
        "SELECT sequence, created_ns, readings FROM batches WHERE sequence > ? AND sequence <= ? AND closed = 1 "
        "ORDER BY sequence LIMIT ?");
    {
        sql::Reset r{s};
        sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after));
        // Buffered, ids are guarded by the marks rather than by the log's sync: what is written is
        // handed out without waiting for the sync.
        sqlite3_bind_int64(s, 2, buffered() ? std::numeric_limits<sqlite3_int64>::max()
                                            : static_cast<sqlite3_int64>(durable_closed_));
        sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(limit + removals_.size()));
        while (out.size() < limit && sql::step_row(s)) {
            // Acknowledged but not yet deleted: never hand out again.
            auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            if (std::find(removals_.begin(), removals_.end(), seq) != removals_.end()) continue;
            StoredBatch b;
            b.sequence = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            b.created_ns = sqlite3_column_int64(s, 1);
            b.readings = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
            out.push_back(std::move(b));
        }
    }
    sqlite3_stmt* p = prepare("SELECT id, payload, crc, encoding, readings FROM parts WHERE id BETWEEN ? AND ? ORDER BY id");
    std::vector<StoredBatch> good;
    for (StoredBatch& b : out) {
        sql::Reset r{p};
        sqlite3_bind_int64(p, 1, first_part(b.sequence));
        sqlite3_bind_int64(p, 2, last_part(b.sequence));
        bool header_damaged = false;
        std::uint64_t damaged = 0, lost = 0;
        // A read error throws: a batch with a part missing must not go out (and be deleted on its ack).
        while (sql::step_row(p)) {
            // A part the disk changed would make the whole batch unparsable at the consumer: leave
            // it out, and count its readings as dropped.
            if (append_intact_row(p, 1, b.payload)) continue;
            ++damaged;
            lost += static_cast<std::uint64_t>(sqlite3_column_int64(p, 4));
            if (sqlite3_column_int64(p, 0) == first_part(b.sequence)) header_damaged = true;
        }
        if (damaged == 0) {
            good.push_back(std::move(b));
            continue;
        }
        stats_.damaged_parts += damaged;
        if (header_damaged) {
            // Without its header the batch has no id: drop it whole.
            lost = b.readings;
            removals_.push_back(b.sequence);
        } else {
            b.readings -= std::min(b.readings, lost);
            good.push_back(std::move(b));
        }
        stats_.dropped_readings += lost;
        log::error("store ", path_, ": batch ", b.sequence, " has ", damaged, " damaged part(s) on disk (checksum mismatch); ",
                   header_damaged ? "dropped the batch, " : "published the rest, ", lost, " readings lost");
    }
    return from_memory(after, limit, std::move(good));
}

bool Store::ids_reserved(std::uint64_t sequence, const std::map<std::string, std::uint64_t>& devices) const {
    if (sequence > marks_->batch()) return false;
    for (const auto& [device, seq] : devices) {
        auto mark = marks_->devices().find(device);
        if (mark == marks_->devices().end() || mark->second < seq) return false;
    }
    return true;
}

std::optional<StoredBatch> Store::partly_written(std::uint64_t sequence) {
    WriteQueue::Rest queued = queue_.rest_of(sequence);
    if (!queued.closed || !ids_reserved(sequence, queued.devices)) return std::nullopt;
    StoredBatch b;
    b.sequence = sequence;
    b.readings = queued.readings;
    try {
        sqlite3_stmt* h = prepare("SELECT created_ns FROM batches WHERE sequence = ?");
        {
            sql::Reset r{h};
            sqlite3_bind_int64(h, 1, static_cast<sqlite3_int64>(sequence));
            if (!sql::step_row(h)) return std::nullopt;
            b.created_ns = sqlite3_column_int64(h, 0);
        }
        sqlite3_stmt* p = prepare("SELECT payload, crc, encoding, readings FROM parts WHERE id BETWEEN ? AND ? ORDER BY id");
        sql::Reset r{p};
        sqlite3_bind_int64(p, 1, first_part(sequence));
        sqlite3_bind_int64(p, 2, last_part(sequence));
        while (sql::step_row(p)) {
            // A damaged row: the batch waits for the disk, and read_after() counts the damage once.
            if (!append_intact_row(p, 0, b.payload)) return std::nullopt;
            b.readings += static_cast<std::uint64_t>(sqlite3_column_int64(p, 3));
        }
    } catch (const sql::Error& e) {
        read_failed(e, "the batch waits for a read that works");
        return std::nullopt;
    }
    b.payload += queued.payload;
    return b;
}

std::vector<StoredBatch> Store::from_memory(std::uint64_t after, std::size_t limit, std::vector<StoredBatch> good) {
    // Buffered: the closed batches no write has reached yet, merged in sequence order. Write-through
    // as well while the disk refuses writes, once every batch committed before them is durable (and
    // so handed out first): their readings go out from memory instead of waiting for space, and
    // their durable copy stays owed (queued) until the broker acknowledges them. Either way only
    // under ids the marks have reserved: those need no write to the disk, and no later run reuses them.
    bool write_through_may = refusing_ && closes_waiting_.empty() && (unstored_marked_ || set_unstored_mark(true));
    if (!buffered() && !write_through_may) return good;
    // A batch partly written and still being written goes out first: the ones after it wait. While
    // the disk refuses the rest of it, it goes out put together from its rows and its queued parts.
    std::uint64_t hold_from = std::numeric_limits<std::uint64_t>::max();
    if (auto front = queue_.partly_written_front()) {
        hold_from = *front;
        if (refusing_ && hold_from <= after) {
            hold_from = std::numeric_limits<std::uint64_t>::max();  // handed out already
        } else if (refusing_ && hold_from > after) {
            if (auto b = partly_written(hold_from)) {
                good.push_back(std::move(*b));
                hold_from = std::numeric_limits<std::uint64_t>::max();
            }
        }
    }
    std::size_t from_memory = 0;
    const auto& memory = queue_.in_memory();
    for (auto it = memory.upper_bound(after); it != memory.end() && it->first < hold_from && from_memory < limit; ++it) {
        if (!it->second.closed) continue;
        if (!ids_reserved(it->first, it->second.devices)) break;  // nor any after it: order
        ++from_memory;
        StoredBatch b;
        b.sequence = it->first;
        b.created_ns = it->second.created_ns;
        b.readings = it->second.readings;
        b.payload = it->second.payload;
        good.push_back(std::move(b));
    }
    std::sort(good.begin(), good.end(), [](const StoredBatch& a, const StoredBatch& b) { return a.sequence < b.sequence; });
    if (good.size() > limit) good.resize(limit);
    return good;
}

std::map<std::string, std::uint64_t> Store::device_sequences() {
    std::map<std::string, std::uint64_t> out = device_floor_;
    sqlite3_stmt* s = prepare("SELECT device, sequence FROM device_sequences");
    sql::Reset r{s};
    while (sql::step_row(s)) {
        auto& seq = out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))];
        seq = std::max(seq, static_cast<std::uint64_t>(sqlite3_column_int64(s, 1)));
    }
    return out;
}

std::optional<std::int64_t> Store::oldest_created_ns() {
    sqlite3_stmt* s = prepare("SELECT created_ns FROM batches ORDER BY sequence LIMIT 1");
    sql::Reset r{s};
    try {
        oldest_known_ = sql::step_row(s) ? std::optional(sqlite3_column_int64(s, 0)) : std::nullopt;
    } catch (const sql::Error& e) {
        read_failed(e, "the oldest batch's age keeps its last value");  // not "no backlog"
    }
    return oldest_known_;
}

bool Store::over_limit() const { return stats_.used_bytes > limits_.max_bytes; }

std::uint64_t Store::wal_limit() const { return std::min<std::uint64_t>(4u << 20, limits_.max_bytes / 4); }

std::uint64_t Store::max_chunk_bytes() const { return std::max<std::uint64_t>(4096, std::min<std::uint64_t>(1u << 20, limits_.max_bytes / 8)); }

std::uint64_t Store::pragma_number(const char* sql) {
    sqlite3_stmt* s = prepare(sql);
    sql::Reset r{s};
    if (!sql::step_row(s)) throw sql::Error(std::string(sql) + ": no answer", SQLITE_ERROR);
    return static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
}

void Store::refresh_used() {
    // After every commit: two reads of the database header, which is in the page cache. The page
    // size is read once, when the database opens.
    try {
        std::uint64_t pages = pragma_number("PRAGMA page_count"), free_pages = pragma_number("PRAGMA freelist_count");
        stats_.used_bytes = (pages - std::min(pages, free_pages)) * page_size_;
    } catch (const sql::Error& e) {
        // Not 0, which would also lift the size limit until the next commit.
        read_failed(e, "the store's size keeps its last value");
    }
}

void Store::id_marks_failed() {
    ++stats_.id_mark_failures;
    if (!logged_marks_failure_) log::error(marks_->last_error(), "; tried again with the next ids");
    logged_marks_failure_ = true;
}

void Store::refresh_sizes() {
    // max_bytes limits the pages in use, whatever they hold (payload, row and b-tree overhead): the
    // database file grows only when no free page is left, so its size stays near that; the WAL is
    // bounded on its own (wal_limit()).
    refresh_used();
    std::error_code ec;
    auto wal = std::filesystem::file_size(path_ + "-wal", ec);
    if (!ec && wal > wal_limit() + max_chunk_bytes()) {
        // Transactions that a full disk cut short leave their frames behind, and SQLite trims the log
        // only when it next starts it over: cut it back now.
        sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
        wal = std::filesystem::file_size(path_ + "-wal", ec);
    }
    auto db = std::filesystem::file_size(path_, ec);
    stats_.file_bytes = (ec ? 0 : db) + wal;
}

void Store::enforce_limits(std::int64_t now_ns, bool drop_for_size) {
    if (!db_) return;
    std::int64_t cutoff = limits_.max_age_ms > 0 ? now_ns - limits_.max_age_ms * 1'000'000 : INT64_MIN;
    bool dropped = false;
    refresh_sizes();
    // One transaction for all the drops (each pays a WAL frame per page touched); rolled back whole
    // if the disk refuses it.
    std::optional<sql::Transaction> transaction;
    try {
        transaction.emplace(db_);  // BEGIN IMMEDIATE reads the database header
    } catch (const sql::Error& e) {
        read_failed(e, "the limits are checked again after the next commit");
        return;
    }
    std::uint64_t dropped_batches = 0, dropped_readings = 0;
    StoreStats before = stats_;
    // Rolled back: the figures are as they were; the reads that failed meanwhile stay counted.
    auto roll_back_figures = [this, &before] {
        before.read_failures = stats_.read_failures;
        stats_ = before;
    };
    std::uint64_t after = 0;
    while (true) {
        sqlite3_stmt* s = prepare(
            "SELECT sequence, created_ns, readings, bytes FROM batches WHERE closed = 1 AND sequence > ? ORDER BY sequence LIMIT 1");
        std::uint64_t seq = 0, readings = 0, bytes = 0;
        std::int64_t created = 0;
        {
            sql::Reset r{s};
            sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after));
            bool row = false;
            try {
                row = sql::step_row(s);
            } catch (const sql::Error& e) {
                // The drops so far are committed if the disk lets them.
                read_failed(e, "the limits are checked again after the next commit");
            }
            if (!row) break;
            seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            created = sqlite3_column_int64(s, 1);
            readings = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
            bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 3));
        }
        if (!((drop_for_size && stats_.used_bytes > limits_.max_bytes) || created < cutoff)) break;
        after = seq;
        // A batch on its way to the broker, or acknowledged already, is not dropped: it is (about to
        // be) delivered, and counting it as dropped would be a lie.
        if ((in_flight_ && in_flight_(seq)) || std::find(removals_.begin(), removals_.end(), seq) != removals_.end()) continue;
        try {
            if (!dropped) save_last_sequence();  // the dropped batch may be the newest
            drop_batch(seq);
        } catch (const std::exception& e) {
            last_error_ = e.what();
            roll_back_figures();
            return;
        }
        dropped = true;
        ++dropped_batches;
        dropped_readings += readings;
        stats_.bytes -= std::min(stats_.bytes, bytes);
        stats_.depth -= std::min<std::uint64_t>(stats_.depth, 1);
        refresh_used();
    }
    try {
        transaction->commit();
    } catch (const sql::Error& e) {
        last_error_ = e.what();
        roll_back_figures();
        return;
    }
    stats_.dropped_batches += dropped_batches;
    stats_.dropped_readings += dropped_readings;
    if (dropped) refresh_sizes();
    if (dropped) log::warning("store: limit reached; dropped oldest unsent batches (", stats_.dropped_batches,
                              " batches, ", stats_.dropped_readings, " readings so far)");
}

}  // namespace loopgate
