#include "gateway/store/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <fstream>
#include <limits>
#include <iterator>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "gateway/store/crc32c.hpp"
#include "gateway/store/id_marks.hpp"
#include "gateway/store/part_codec.hpp"
#include "gateway/store/wal_check.hpp"
#include "gateway/store/wal_syncer.hpp"

namespace loopgate {

namespace {

class StoreError : public std::runtime_error {
public:
    StoreError(const std::string& what, int code) : std::runtime_error(what), code(code) {}
    int code;
};

struct Reset {
    sqlite3_stmt* s;
    ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
};

// At open, any of these means the file is not a store SQLite can read: a damaged header reads as
// "unsupported file format" (SQLITE_ERROR), not only as SQLITE_CORRUPT or SQLITE_NOTADB. Errors that
// say the disk or the permissions are at fault (CANTOPEN, IOERR, PERM, FULL...) are not corruption:
// the files must stay where they are.
bool is_corruption(int code) {
    int primary = code & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT || primary == SQLITE_ERROR;
}

constexpr std::size_t aside_copies_kept = 3;
constexpr std::size_t commit_ops_max = 4096;

// Layout 4: layout 3 (layout 2 plus a CRC-32C of each part's stored bytes, NULL for parts written
// by layout 2) plus each part's encoding (gateway/store/part_codec.hpp; NULL: raw, as layout 3 wrote).
// A part's id is its batch's sequence shifted left by part_bits, plus its index within
// the batch: a batch's parts sit together in the table's own b-tree, so neither writing nor reading
// them needs a second index, and a commit of one part writes one table page (plus overflow).
// A batch's readings and bytes are summed from its parts when it closes, not updated per part; its
// bytes are the stored bytes (deflated parts count their deflated size).
constexpr int layout_version = 4;
constexpr int part_bits = 20;  // more parts than a batch can have: each holds a reading, batches <= 100,000
// More than a row can hold once inflated (a row holds at most a commit chunk, 1 MiB, of raw parts):
// beyond this a stored row is damaged, not large.
constexpr std::size_t part_max_raw_bytes = 64u << 20;
const char* const schema = R"(
CREATE TABLE IF NOT EXISTS batches (
  sequence   INTEGER PRIMARY KEY,
  created_ns INTEGER NOT NULL,
  closed     INTEGER NOT NULL DEFAULT 0,
  readings   INTEGER NOT NULL DEFAULT 0,
  bytes      INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS parts (
  id       INTEGER PRIMARY KEY,
  readings INTEGER NOT NULL,
  payload  BLOB NOT NULL,
  crc      INTEGER,
  encoding INTEGER);
CREATE TABLE IF NOT EXISTS device_sequences (device TEXT PRIMARY KEY, sequence INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
)";

// Layout 1 (the first store format) kept parts under an autoincrement id with a (sequence, id)
// index and kept batch totals current per part. Its open batches are closed with those totals, then
// its parts are renumbered into layout 2, all in one transaction.
static_assert(part_bits == 20, "upgrade_from_layout_1 shifts sequences by part_bits");
const char* const upgrade_from_layout_1 = R"(
UPDATE batches SET closed = 1 WHERE closed = 0;
CREATE TABLE parts_2 (id INTEGER PRIMARY KEY, readings INTEGER NOT NULL, payload BLOB NOT NULL);
INSERT INTO parts_2 (id, readings, payload)
  SELECT (sequence << 20) + row_number() OVER (PARTITION BY sequence ORDER BY id) - 1, 0, payload FROM parts;
DROP TABLE parts;
ALTER TABLE parts_2 RENAME TO parts;
)";

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

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// SQLite's wal-index (-shm) is written through a shared mapping and never synced: it tells which
// frames were committed only if nothing since could have lost it, i.e. it was written during this
// boot (a kill -9 keeps the page cache; a power cut does not). Empty when that is not known.
std::vector<std::uint8_t> index_written_this_boot(const std::string& shm) {
    struct stat st {};
    if (::stat(shm.c_str(), &st) != 0) return {};
    std::ifstream proc("/proc/stat");
    std::string key;
    long long boot = 0;
    while (proc >> key)
        if (key == "btime" && (proc >> boot)) break;
    if (boot <= 0 || st.st_mtime < boot) return {};
    return read_file_bytes(shm);
}

sqlite3_int64 first_part(std::uint64_t sequence) { return static_cast<sqlite3_int64>(sequence << part_bits); }
sqlite3_int64 last_part(std::uint64_t sequence) { return first_part(sequence) + ((sqlite3_int64{1} << part_bits) - 1); }

}  // namespace

Store::Store(const std::string& path, const StoreLimits& limits, StoreOptions options)
    : path_(path), limits_(limits), options_(std::move(options)) {
    try {
        open_or_recover();
    } catch (...) {
        close_database();  // no destructor runs for a constructor that throws
        if (unstored_fd_ >= 0) ::close(unstored_fd_);
        throw;
    }
}

void Store::open_or_recover() {
    marks_ = std::make_unique<IdMarks>(path_ + ".ids");
    bool recovered = false;
    // SQLite replays a write-ahead log up to its first bad frame and drops the rest without a word:
    // look before it does.
    std::error_code ec;
    if (std::filesystem::file_size(path_ + "-wal", ec) > 0 && !ec) {
        std::vector<std::uint8_t> bytes = read_file_bytes(path_ + "-wal");
        std::vector<std::uint8_t> index = index_written_this_boot(path_ + "-shm");
        WalInspection wal = inspect_wal(bytes, index);
        if (wal.damaged) {
            move_aside("its write-ahead log is damaged: " + wal.reason, true);
            recovered = true;
        }
    }
    try {
        open_database();
    } catch (const StoreError& e) {
        if (!is_corruption(e.code)) throw std::runtime_error(e.what());
        close_database();
        move_aside(e.what(), false);
        recovered = true;
        open_database();
    }
    open_unstored_mark();
    adopt_id_marks(recovered);
}

void Store::open_unstored_mark() {
    // Write-through hands out ids the store does not hold only while the disk refuses writes, when
    // nothing can be written to say so: this byte, in a block allocated at the first start, is
    // overwritten in place (no new space needed) before the first such batch goes out, and cleared
    // at a clean close once the exact ids are recorded. A start that finds it set continues above
    // the id marks, as after a buffered run that did not close cleanly.
    std::string path = path_ + ".unstored";
    bool created = !std::filesystem::exists(path);
    unstored_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (unstored_fd_ < 0) {
        log::warning("store ", path_, ": cannot open ", path, " (", std::strerror(errno),
                     "); while the disk refuses writes, write-through batches wait for it");
        return;
    }
    char mark = '0';
    if (created || ::pread(unstored_fd_, &mark, 1, 0) != 1) {
        mark = '0';
        if (::pwrite(unstored_fd_, &mark, 1, 0) != 1 || ::fdatasync(unstored_fd_) != 0 || sync_directory_of(path) != 0)
            log::warning("store ", path_, ": cannot write ", path, " (", std::strerror(errno), ")");
    }
    unstored_found_ = mark == '1';
}

bool Store::set_unstored_mark(bool set) {
    char mark = set ? '1' : '0';
    if (unstored_fd_ < 0 || ::pwrite(unstored_fd_, &mark, 1, 0) != 1 || ::fdatasync(unstored_fd_) != 0) return false;
    unstored_marked_ = set;
    return true;
}

void Store::move_aside(const std::string& why, bool keep_using) {
    // Never delete what may still hold readings: a person may want to look at it. A database SQLite
    // cannot read is moved with its log. A damaged log is copied (with the index beside it) and the
    // store goes on with what SQLite can read: the database itself is intact, and copying it (up to
    // max_bytes) after every power cut that tore the log's tail in an unlucky way would cost more
    // than it could save.
    auto stamp = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                     .count();
    std::string aside = path_ + ".corrupt-" + std::to_string(stamp);
    for (int n = 2; std::filesystem::exists(aside); ++n) aside = path_ + ".corrupt-" + std::to_string(stamp) + "-" + std::to_string(n);
    std::string failed;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ec;
        if (!std::filesystem::exists(path_ + suffix, ec) || (keep_using && *suffix == '\0')) continue;
        if (keep_using) std::filesystem::copy_file(path_ + suffix, aside + suffix, ec);
        else std::filesystem::rename(path_ + suffix, aside + suffix, ec);
        if (ec) failed += std::string(failed.empty() ? "" : ", ") + (path_ + suffix) + ": " + ec.message();
    }
    ++stats_.recoveries;
    stats_.recovered_from = aside;
    log::error("store ", path_, " is damaged (", why, "); ", keep_using ? "copied the log aside to " : "moved it aside to ",
               aside, keep_using ? "-wal" : "", failed.empty() ? "" : " (could not: " + failed + ")",
               keep_using ? " and kept what is still readable" : " and started a fresh store",
               "; ids continue above the last marks");
    // Keep the newest sets only (their names hold the time): a box that loses power often must not
    // fill its disk with them.
    std::set<std::string, std::greater<>> sets;
    auto dir = std::filesystem::path(path_).parent_path();
    std::string prefix = std::filesystem::path(path_).filename().string() + ".corrupt-";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        for (const char* suffix : {"-wal", "-shm"})
            if (name.size() > 4 && name.compare(name.size() - 4, 4, suffix) == 0) name.resize(name.size() - 4);
        sets.insert((entry.path().parent_path() / name).string());
    }
    std::size_t kept = 0;
    for (const std::string& set : sets) {
        if (set == aside || ++kept <= aside_copies_kept - 1) continue;  // the new one, and the newest others
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(set + suffix, ec);
    }
}

void Store::adopt_id_marks(bool recovered) {
    // A healthy store knows its ids. After a recovery, or when the store is more than a block
    // behind the marks (a power cut took unsynced commits, or an old copy was put back), ids
    // continue above the marks: some of the ids in between may have reached the broker.
    previous_run_unclean_ = !recovered && (meta("unclean_buffered_run", 0) != 0 || unstored_found_);
    if (previous_run_unclean_)
        log::warning("store ", path_, ": the last run did not close cleanly; readings it held in memory for their "
                     "acknowledgement may be lost, and ids continue above the id marks");
    bool behind = recovered || previous_run_unclean_ || last_sequence_ + marks_->batch_block() < marks_->batch();
    if (behind && marks_->batch() > last_sequence_) {
        log::warning("store ", path_, ": batch ids continue from ", marks_->batch() + 1, " (the store's last was ",
                     last_sequence_, ")");
        last_sequence_ = marks_->batch();
    }
    if (recovered && (marks_->damaged() || (marks_->batch() == 0 && marks_->devices().empty()))) {
        // Nothing says which ids went out before. The clock is the last witness: ids counted from
        // the time in milliseconds outrun ids counted one per batch or reading (unless a device sent
        // more than a thousand readings a second for as long as it has been running).
        auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count());
        log::warning("store ", path_, ": no id marks to continue from; batch ids and device sequences continue from ",
                     "the clock (", ms, ")");
        last_sequence_ = std::max(last_sequence_, ms);
        unknown_device_floor_ = ms;
    }
    auto stored = device_sequences();
    for (const auto& [device, mark] : marks_->devices()) {
        std::uint64_t have = stored.count(device) ? stored[device] : 0;
        if ((recovered || previous_run_unclean_ || have + marks_->device_block() < mark) && mark > have)
            device_floor_[device] = mark;
    }
}

void Store::close_database() {
    page_size_ = 0;
    for (auto& [sql, s] : statements_) sqlite3_finalize(s);
    statements_.clear();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

void Store::open_database() {
    close_database();
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             options_.vfs.empty() ? nullptr : options_.vfs.c_str());
    if (rc != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw StoreError("store " + path_ + ": cannot open: " + why, rc);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    // Small pages for a new store (an existing one keeps its size: WAL mode cannot change it). A
    // commit during an outage rewrites the header, an interior page and the last leaf besides the
    // new readings: at 4 KiB pages that overhead, not the readings, was most of what an outage wrote
    // (6.8 bytes per payload byte at 100 readings/s; 3.6-3.9 at 1 KiB).
    exec("PRAGMA page_size=1024");
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    // Debian builds SQLite with SECURE_DELETE: every page a delete frees is overwritten with zeros,
    // written once to the log and once more to the database. Acknowledged readings are no secret
    // worth twice the wear, and a drop of old batches would be as large as the batches themselves.
    exec("PRAGMA secure_delete=OFF");
    // A bounded log: checkpointed once it holds wal_limit() and cut back to that size after.
    page_size_ = pragma_number("PRAGMA page_size");
    exec(("PRAGMA wal_autocheckpoint=" +
          std::to_string(std::max<std::uint64_t>(16, wal_limit() / std::max<std::uint64_t>(512, page_size_)))).c_str());
    exec(("PRAGMA journal_size_limit=" + std::to_string(wal_limit())).c_str());
    upgrade_layout();
    // A quick structural check catches files that are damaged beyond the header.
    // The statement is reset at once: a statement left mid-row holds a read snapshot, and a
    // snapshot held from the start keeps every checkpoint from getting past it (the WAL then grows
    // without bound).
    std::string verdict = "no answer";
    {
        sqlite3_stmt* check = prepare("PRAGMA quick_check");
        Reset r{check};
        if (sqlite3_step(check) == SQLITE_ROW) verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
    }
    if (verdict != "ok") throw StoreError("store " + path_ + ": integrity check failed: " + verdict, SQLITE_CORRUPT);
    // Batches left open by a crash are complete as far as they got: total them and publish them.
    std::vector<std::uint64_t> left_open;
    sqlite3_stmt* o = prepare("SELECT sequence FROM batches WHERE closed = 0");
    while (sqlite3_step(o) == SQLITE_ROW) left_open.push_back(static_cast<std::uint64_t>(sqlite3_column_int64(o, 0)));
    sqlite3_reset(o);
    for (std::uint64_t seq : left_open) close_in_db(seq);
    sqlite3_stmt* s = prepare(
        "SELECT max(coalesce((SELECT value FROM meta WHERE key='last_sequence'),0), "
        "coalesce((SELECT max(sequence) FROM batches),0)), "
        "(SELECT count(*) FROM batches), (SELECT coalesce(sum(bytes),0) FROM batches)");
    if (sqlite3_step(s) == SQLITE_ROW) {
        last_sequence_ = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        db_newest_ = last_sequence_;
        stats_.depth = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
        stats_.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
    }
    sqlite3_reset(s);
    // Every batch on disk is closed by now; but after a kill -9 the log may hold commits that only
    // the page cache has (never synced): make them durable before any of them is handed out, or a
    // power cut could take a published batch and give its id to another.
    if (int error = sync_wal(); error == 0) {
        durable_closed_ = last_sequence_;
    } else {
        log::error("store ", path_, ": cannot make the write-ahead log durable: ", std::strerror(error),
                   "; batches wait until a later sync succeeds");
        ++stats_.sync_failures;
        durable_closed_ = 0;
        data_commits_ = 1;  // the first commit's sync covers what is on disk now
        closes_waiting_.emplace_back(last_sequence_, 1);
    }
    refresh_sizes();
}

int Store::sync_wal() {
    if (options_.sync_wal) return options_.sync_wal(path_ + "-wal");
    int fd = ::open((path_ + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : errno;
    int error = ::fdatasync(fd) == 0 ? 0 : errno;
    ::close(fd);
    if (error == 0) sync_directory_of(path_);  // the log's name, as SQLite's FULL mode makes durable too
    return error;
}

void Store::upgrade_layout() {
    sqlite3_stmt* v = prepare("PRAGMA user_version");
    int version = sqlite3_step(v) == SQLITE_ROW ? sqlite3_column_int(v, 0) : 0;
    sqlite3_reset(v);
    if (version == layout_version) return;
    if (version > layout_version)
        throw StoreError("store " + path_ + ": written by a newer loopgate (layout " + std::to_string(version) +
                             "; this one knows up to " + std::to_string(layout_version) + ")",
                         SQLITE_CANTOPEN);
    sqlite3_stmt* t = prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'parts'");
    bool has_parts = sqlite3_step(t) == SQLITE_ROW && sqlite3_column_int(t, 0) > 0;
    sqlite3_reset(t);
    bool layout_1 = has_parts && version < 2;
    exec("BEGIN IMMEDIATE");
    try {
        if (layout_1) exec(upgrade_from_layout_1);
        if (has_parts && version < 3) exec("ALTER TABLE parts ADD COLUMN crc INTEGER");
        if (has_parts && version < 4) exec("ALTER TABLE parts ADD COLUMN encoding INTEGER");
        exec(schema);
        exec(("PRAGMA user_version = " + std::to_string(layout_version)).c_str());
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    if (has_parts) log::info("store ", path_, ": upgraded from layout ", layout_1 ? 1 : version, " to layout ", layout_version);
}

void Store::close_in_db(std::uint64_t sequence) {
    sqlite3_stmt* s = prepare(close_sql);
    Reset r{s};
    sqlite3_bind_int64(s, 1, first_part(sequence));
    sqlite3_bind_int64(s, 2, last_part(sequence));
    sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(sequence));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), rc);
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

void Store::exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string why = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        throw StoreError("store " + path_ + ": " + why, rc);
    }
}

sqlite3_stmt* Store::prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
        sqlite3_reset(it->second);
        sqlite3_clear_bindings(it->second);
        return it->second;
    }
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) throw StoreError("store " + path_ + ": " + sqlite3_errmsg(db_), rc);
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
    queue_.push_back(Op{Op::open, sequence, created_ns, header, 0, {}, first_part(sequence), Clock::now()});
    stats_.pending_bytes += header.size();
    // Write-through keeps the copy too, for the time the disk refuses writes (from_memory()).
    memory_[sequence] = MemoryBatch{created_ns, header, 0, false, {}};
}

void Store::append(std::uint64_t sequence, const std::string& part, std::uint64_t readings,
                   const std::map<std::string, std::uint64_t>& device_sequences) {
    if (sequence != last_sequence_ || next_part_ >= (1u << part_bits)) throw std::logic_error("store: part outside the open batch");
    if (!marks_->cover(0, device_sequences)) id_marks_failed();
    queue_.push_back(Op{Op::part, sequence, 0, part, readings, device_sequences,
                        first_part(sequence) + static_cast<sqlite3_int64>(next_part_++), Clock::now()});
    stats_.pending_bytes += part.size();
    for (const auto& [device, seq] : device_sequences) handed_out_[device] = std::max(handed_out_[device], seq);
    if (auto m = memory_.find(sequence); m != memory_.end()) {
        m->second.payload += part;
        m->second.readings += readings;
        for (const auto& [device, seq] : device_sequences) m->second.devices[device] = std::max(m->second.devices[device], seq);
    }
    // While the disk refuses writes, memory is the only buffer left: bound it, oldest parts first.
    while (stats_.pending_bytes > limits_.max_pending_bytes) {
        auto it = std::find_if(queue_.begin(), queue_.end(), [](const Op& op) { return op.kind == Op::part; });
        if (it == queue_.end() || std::next(it) == queue_.end()) break;
        stats_.pending_bytes -= it->bytes.size();
        stats_.dropped_readings += it->readings;
        std::uint64_t sequence_of_dropped = it->sequence, readings_dropped = it->readings;
        queue_.erase(it);
        // Its memory copy must not hold the dropped readings, nor lose the rest of the batch (a
        // batch that leaves memory_ unwritten would be skipped by the publishing cursor).
        if (auto m = memory_.find(sequence_of_dropped); m != memory_.end()) {
            m->second.readings -= std::min(m->second.readings, readings_dropped);
            rebuild_memory_payload(sequence_of_dropped);
        }
    }
}

void Store::close_batch(std::uint64_t sequence) {
    queue_.push_back(Op{Op::close, sequence, 0, {}, 0, {}, 0, Clock::now()});
    if (auto m = memory_.find(sequence); m != memory_.end()) m->second.closed = true;
}

void Store::remove(std::uint64_t sequence) {
    if (!memory_.count(sequence)) {
        removals_.push_back(sequence);
        // Handed out while partly on disk (the disk refused the rest): the rest is not written now,
        // or its rows would outlive the deletion.
        queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                                    [&](const Op& op) {
                                        if (op.sequence != sequence) return false;
                                        stats_.pending_bytes -= std::min<std::uint64_t>(stats_.pending_bytes, op.bytes.size());
                                        return true;
                                    }),
                     queue_.end());
        return;
    }
    // Acknowledged before any of it was written: the wear buffered mode exists to save.
    memory_.erase(sequence);
    auto gone = std::remove_if(queue_.begin(), queue_.end(), [&](const Op& op) {
        if (op.sequence != sequence) return false;
        stats_.pending_bytes -= std::min<std::uint64_t>(stats_.pending_bytes, op.bytes.size());
        return true;
    });
    queue_.erase(gone, queue_.end());
    ++stats_.unwritten_batches;
}

void Store::buffer_unacknowledged(std::chrono::milliseconds window) {
    if (!queue_.empty() || window.count() <= 0) throw std::logic_error("store: buffer_unacknowledged before the first batch");
    // Until this run closes cleanly, its ids are known only to the marks: a start after a crash
    // continues above them.
    try {
        set_meta("unclean_buffered_run", 1);
    } catch (const std::exception& e) {
        throw std::runtime_error("store " + path_ + ": " + e.what() + " (marking the store as in use)");
    }
    window_ = window;
}

std::optional<Store::Clock::time_point> Store::next_due() const {
    if (queue_.empty()) return std::nullopt;
    // The rest of a batch already partly written waits its window like any write: made due at once,
    // each part appended to the open batch during an outage cost a commit of its own (three or four
    // commits per window instead of one, 6-10 bytes written per payload byte at 100 readings/s).
    // A commit that happens anyway takes them along (due()).
    return queue_.front().queued + window_;
}

bool Store::due(const Op& op, Clock::time_point queued_before) const {
    return op.queued < queued_before || !memory_.count(op.sequence);
}

bool Store::has_due(Clock::time_point queued_before) const {
    return !removals_.empty() || (!queue_.empty() && due(queue_.front(), queued_before));
}

void Store::set_meta(const char* key, std::int64_t value) {
    sqlite3_stmt* m = prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    Reset r{m};
    sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m, 2, value);
    if (sqlite3_step(m) != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), sqlite3_errcode(db_));
}

std::int64_t Store::meta(const char* key, std::int64_t fallback) {
    sqlite3_stmt* m = prepare("SELECT value FROM meta WHERE key = ?");
    Reset r{m};
    sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
    return sqlite3_step(m) == SQLITE_ROW ? sqlite3_column_int64(m, 0) : fallback;
}

bool Store::save_exact_ids() {
    // A clean close of a buffered run: the ids handed out are written exactly, so the next start
    // continues right after them instead of above the marks.
    try {
        exec("BEGIN IMMEDIATE");
        write_device_sequences(handed_out_);
        save_last_sequence();
        set_meta("unclean_buffered_run", 0);
        exec("COMMIT");
        return true;
    } catch (const std::exception& e) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        last_error_ = e.what();
        return false;
    }
}

void Store::rebuild_memory_payload(std::uint64_t sequence) {
    auto m = memory_.find(sequence);
    if (m == memory_.end()) return;
    m->second.payload.clear();
    for (const Op& op : queue_)
        if (op.sequence == sequence && op.kind != Op::close) m->second.payload += op.bytes;
}

bool Store::rewrite_parts(std::uint64_t first, std::uint64_t last, const PartFix& fix) {
    for (Op& op : queue_) {
        if (op.kind != Op::part || op.sequence < first || op.sequence > last) continue;
        if (auto fixed = fix(op.bytes)) {
            stats_.pending_bytes -= std::min<std::uint64_t>(stats_.pending_bytes, op.bytes.size());
            stats_.pending_bytes += fixed->size();
            op.bytes = std::move(*fixed);
        }
    }
    for (auto it = memory_.lower_bound(first); it != memory_.end() && it->first <= last; ++it)
        rebuild_memory_payload(it->first);
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
            Reset r{s};
            sqlite3_bind_int64(s, 1, after);
            sqlite3_bind_int64(s, 2, last_part(last));
            int rc = SQLITE_DONE;
            while (!more && (rc = sqlite3_step(s)) == SQLITE_ROW) {
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
            if (!more && rc != SQLITE_DONE) {
                last_error_ = "store " + path_ + ": cannot read: " + sqlite3_errmsg(db_);
                return false;
            }
        }
        if (chunk.empty()) continue;
        try {
            exec("BEGIN IMMEDIATE");
            std::set<std::uint64_t> batches;
            for (const auto& [id, row] : chunk) {
                sqlite3_stmt* u = prepare("UPDATE parts SET payload = ?, crc = ?, encoding = ? WHERE id = ?");
                Reset r{u};
                sqlite3_bind_blob(u, 1, row.bytes.data(), static_cast<int>(row.bytes.size()), SQLITE_STATIC);
                sqlite3_bind_int64(u, 2, crc32c(row.bytes));
                if (row.encoding == PartEncoding::raw) sqlite3_bind_null(u, 3);
                else sqlite3_bind_int(u, 3, static_cast<int>(row.encoding));
                sqlite3_bind_int64(u, 4, id);
                if (sqlite3_step(u) != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), sqlite3_errcode(db_));
                batches.insert(static_cast<std::uint64_t>(id) >> part_bits);
            }
            // Open batches get their totals when they close.
            for (std::uint64_t seq : batches) {
                sqlite3_stmt* b = prepare(
                    "UPDATE batches SET bytes = (SELECT coalesce(sum(length(payload)), 0) FROM parts WHERE id BETWEEN ?1 AND ?2) "
                    "WHERE sequence = ?3 AND closed = 1");
                Reset r{b};
                sqlite3_bind_int64(b, 1, first_part(seq));
                sqlite3_bind_int64(b, 2, last_part(seq));
                sqlite3_bind_int64(b, 3, static_cast<sqlite3_int64>(seq));
                if (sqlite3_step(b) != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), sqlite3_errcode(db_));
            }
            exec("COMMIT");
        } catch (const std::exception& e) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
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
    Reset r{s};
    if (sqlite3_step(s) == SQLITE_ROW) {
        stats_.depth = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        stats_.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
    }
}

std::deque<Store::Op>::const_iterator Store::apply(std::deque<Op>::const_iterator op, std::deque<Op>::const_iterator end,
                                                   std::uint64_t& stored_bytes) {
    auto step = [&](sqlite3_stmt* s) {
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), rc);
    };
    if (op->kind == Op::close) {
        close_in_db(op->sequence);
        return std::next(op);
    }
    if (op->kind == Op::open) {
        sqlite3_stmt* s = prepare("INSERT INTO batches (sequence, created_ns) VALUES (?, ?)");
        Reset r{s};
        sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(op->sequence));
        sqlite3_bind_int64(s, 2, op->created_ns);
        step(s);
        db_newest_ = std::max(db_newest_, op->sequence);
    }
    // A batch's header (its first part) or part, and the parts of the batch this commit writes after
    // it, go into one row under the first one's id: one row's overhead, deflated together
    // (part_codec.hpp).
    auto last = std::next(op);
    std::uint64_t readings = op->readings;
    std::size_t raw_size = op->bytes.size();
    for (; last != end && last->kind == Op::part && last->sequence == op->sequence; ++last) {
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
    Reset r{s};
    sqlite3_bind_int64(s, 1, op->part_id);
    sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(readings));
    sqlite3_bind_blob(s, 3, row.bytes.data(), static_cast<int>(row.bytes.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, crc32c(row.bytes));
    if (row.encoding == PartEncoding::raw) sqlite3_bind_null(s, 5);
    else sqlite3_bind_int(s, 5, static_cast<int>(row.encoding));
    step(s);
    stored_bytes += row.bytes.size();
    return last;
}

void Store::save_device_sequences(std::size_t ops) {
    // One upsert per device per commit, however many parts the commit holds.
    std::map<std::string, std::uint64_t> high;
    for (auto op = queue_.begin(); op != queue_.begin() + static_cast<std::ptrdiff_t>(ops); ++op)
        for (const auto& [device, seq] : op->device_sequences) high[device] = std::max(high[device], seq);
    write_device_sequences(high);
}

void Store::write_device_sequences(const std::map<std::string, std::uint64_t>& high) {
    for (const auto& [device, seq] : high) {
        sqlite3_stmt* d = prepare(
            "INSERT INTO device_sequences (device, sequence) VALUES (?, ?) "
            "ON CONFLICT(device) DO UPDATE SET sequence = max(sequence, excluded.sequence)");
        Reset r{d};
        sqlite3_bind_text(d, 1, device.data(), static_cast<int>(device.size()), SQLITE_STATIC);
        sqlite3_bind_int64(d, 2, static_cast<sqlite3_int64>(seq));
        if (sqlite3_step(d) != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), sqlite3_errcode(db_));
    }
}

void Store::save_last_sequence() {
    // Needed only once batches are deleted: until then max(sequence) of `batches` says the same.
    set_meta("last_sequence", static_cast<std::int64_t>(last_sequence_));
}

void Store::drop_batch(std::uint64_t sequence) {
    sqlite3_stmt* p = prepare("DELETE FROM parts WHERE id BETWEEN ? AND ?");
    {
        Reset r{p};
        sqlite3_bind_int64(p, 1, first_part(sequence));
        sqlite3_bind_int64(p, 2, last_part(sequence));
        if (sqlite3_step(p) != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), sqlite3_errcode(db_));
    }
    sqlite3_stmt* b = prepare("DELETE FROM batches WHERE sequence = ?");
    Reset r{b};
    sqlite3_bind_int64(b, 1, static_cast<sqlite3_int64>(sequence));
    if (sqlite3_step(b) != SQLITE_DONE) throw StoreError(sqlite3_errmsg(db_), sqlite3_errcode(db_));
}

bool Store::commit(std::size_t max_chunks, Clock::time_point queued_before) {
    // In chunks of at most max_chunk_bytes(): after a full disk, memory may hold more than the
    // disk has room for in one transaction, and each chunk that fits is progress kept.
    for (std::size_t chunks = 0; has_due(queued_before) && chunks < max_chunks; ++chunks) {
        std::size_t ops = 0, bytes = 0;
        while (ops < queue_.size() && ops < commit_ops_max && due(queue_[ops], queued_before) &&
               (ops == 0 || bytes + queue_[ops].bytes.size() <= max_chunk_bytes()))
            bytes += queue_[ops++].bytes.size();
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
    struct {
        std::deque<Op>::const_iterator b, e;
        auto begin() const { return b; }
        auto end() const { return e; }
    } chunk{queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(ops)};
    // Only new readings need to reach the disk before commit() returns. Closing a batch or deleting
    // an acknowledged one may be lost to a power cut at the cost of a duplicate (a lost close is
    // redone at start), so those transactions skip the sync; the next synced commit carries them
    // to disk too, since the WAL is written in order.
    // (With a background syncer every commit runs that way, and the syncer does the syncing.)
    bool has_data = std::any_of(chunk.begin(), chunk.end(), [](const Op& op) { return op.kind != Op::close; });
    bool skip_sync = !has_data && !syncer_;
    std::uint64_t stored_bytes = 0;
    try {
        if (skip_sync) exec("PRAGMA synchronous=NORMAL");
        exec("BEGIN IMMEDIATE");
        for (std::uint64_t seq : removals_) drop_batch(seq);
        if (!removals_.empty()) save_last_sequence();
        for (auto op = chunk.begin(); op != chunk.end();) op = apply(op, chunk.end(), stored_bytes);
        // Buffered, the id marks and the clean-close record keep the device sequences: one page
        // less per commit.
        if (!buffered()) save_device_sequences(ops);
        exec("COMMIT");
        if (skip_sync) exec("PRAGMA synchronous=FULL");
    } catch (const std::exception& e) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
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
    // Counters follow the committed state.
    for (const Op& op : chunk) {
        // Partly on disk from now on: handed out from there. (Not before the commit: a transaction
        // the disk refuses leaves the batch wholly in memory still.)
        if (op.kind == Op::open) memory_.erase(op.sequence);
        if (op.kind == Op::open) ++stats_.depth;
        if (op.kind == Op::close) closes_waiting_.emplace_back(op.sequence, data_commits_);
        stats_.pending_bytes -= std::min<std::uint64_t>(stats_.pending_bytes, op.bytes.size());
    }
    if (!syncer_) durable_commits_ = data_commits_;
    else if (durable_commits_ < data_commits_) syncer_->request(data_commits_);  // also retries a failed one
    advance_durable();
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(ops));
    if (queue_.empty()) stats_.pending_bytes = 0;
    if (!removals_.empty()) {
        recount();  // removals may include batches the limits dropped already
        removals_.clear();
    }
    return true;
}

void Store::count_lost_queue() {
    // Readings that never reached the disk are dropped: counted and said, never silently.
    std::uint64_t readings = 0;
    for (const Op& op : queue_) readings += op.readings;
    stats_.dropped_readings += readings;
    log::error("store: ", last_error_, "; ", readings, " readings held in memory could not be stored and are lost (",
               stats_.dropped_readings, " readings dropped in all)");
    queue_.clear();
    stats_.pending_bytes = 0;
}

void Store::sync_in_background(std::function<void(std::function<void()>)> post, std::function<void()> on_durable) {
    if (syncer_) return;
    if (!commit()) throw std::runtime_error("store " + path_ + ": " + last_error_);
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
    std::vector<StoredBatch> out;
    if (after >= db_newest_) return from_memory(after, limit, {});
    sqlite3_stmt* s = prepare(
        "SELECT sequence, created_ns, readings FROM batches WHERE sequence > ? AND sequence <= ? AND closed = 1 "
        "ORDER BY sequence LIMIT ?");
    {
        Reset r{s};
        sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after));
        // Buffered, ids are guarded by the marks rather than by the log's sync: what is written is
        // handed out without waiting for the sync.
        sqlite3_bind_int64(s, 2, buffered() ? std::numeric_limits<sqlite3_int64>::max()
                                            : static_cast<sqlite3_int64>(durable_closed_));
        sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(limit + removals_.size()));
        int rc = SQLITE_DONE;
        while (out.size() < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            // Acknowledged but not yet deleted: never hand out again.
            auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            if (std::find(removals_.begin(), removals_.end(), seq) != removals_.end()) continue;
            StoredBatch b;
            b.sequence = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            b.created_ns = sqlite3_column_int64(s, 1);
            b.readings = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
            out.push_back(std::move(b));
        }
        if (out.size() < limit && rc != SQLITE_DONE)
            throw std::runtime_error("store " + path_ + ": cannot read: " + sqlite3_errmsg(db_));
    }
    sqlite3_stmt* p = prepare("SELECT id, payload, crc, encoding, readings FROM parts WHERE id BETWEEN ? AND ? ORDER BY id");
    std::vector<StoredBatch> good;
    for (StoredBatch& b : out) {
        Reset r{p};
        sqlite3_bind_int64(p, 1, first_part(b.sequence));
        sqlite3_bind_int64(p, 2, last_part(b.sequence));
        bool header_damaged = false;
        std::uint64_t damaged = 0, lost = 0;
        while (sqlite3_step(p) == SQLITE_ROW) {
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
    StoredBatch b;
    b.sequence = sequence;
    bool closed = false;
    std::string queued;
    std::map<std::string, std::uint64_t> devices;
    for (const Op& op : queue_) {
        if (op.sequence != sequence) continue;
        if (op.kind == Op::close) closed = true;
        if (op.kind != Op::part) continue;
        queued += op.bytes;
        b.readings += op.readings;
        for (const auto& [device, seq] : op.device_sequences) devices[device] = std::max(devices[device], seq);
    }
    if (!closed || !ids_reserved(sequence, devices)) return std::nullopt;
    sqlite3_stmt* h = prepare("SELECT created_ns FROM batches WHERE sequence = ?");
    {
        Reset r{h};
        sqlite3_bind_int64(h, 1, static_cast<sqlite3_int64>(sequence));
        if (sqlite3_step(h) != SQLITE_ROW) return std::nullopt;
        b.created_ns = sqlite3_column_int64(h, 0);
    }
    sqlite3_stmt* p = prepare("SELECT payload, crc, encoding, readings FROM parts WHERE id BETWEEN ? AND ? ORDER BY id");
    Reset r{p};
    sqlite3_bind_int64(p, 1, first_part(sequence));
    sqlite3_bind_int64(p, 2, last_part(sequence));
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
        // A damaged row: the batch waits for the disk, and read_after() counts the damage once.
        if (!append_intact_row(p, 0, b.payload)) return std::nullopt;
        b.readings += static_cast<std::uint64_t>(sqlite3_column_int64(p, 3));
    }
    if (rc != SQLITE_DONE) return std::nullopt;
    b.payload += queued;
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
    if (!queue_.empty() && !memory_.count(queue_.front().sequence)) {
        hold_from = queue_.front().sequence;
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
    for (auto it = memory_.upper_bound(after); it != memory_.end() && it->first < hold_from && from_memory < limit; ++it) {
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
    Reset r{s};
    while (sqlite3_step(s) == SQLITE_ROW) {
        auto& seq = out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))];
        seq = std::max(seq, static_cast<std::uint64_t>(sqlite3_column_int64(s, 1)));
    }
    return out;
}

std::optional<std::int64_t> Store::oldest_created_ns() {
    sqlite3_stmt* s = prepare("SELECT created_ns FROM batches ORDER BY sequence LIMIT 1");
    Reset r{s};
    if (sqlite3_step(s) == SQLITE_ROW) return sqlite3_column_int64(s, 0);
    return std::nullopt;
}

bool Store::over_limit() const { return stats_.used_bytes > limits_.max_bytes; }

std::uint64_t Store::wal_limit() const { return std::min<std::uint64_t>(4u << 20, limits_.max_bytes / 4); }

std::uint64_t Store::max_chunk_bytes() const { return std::max<std::uint64_t>(4096, std::min<std::uint64_t>(1u << 20, limits_.max_bytes / 8)); }

std::uint64_t Store::pragma_number(const char* sql) {
    sqlite3_stmt* s = prepare(sql);
    Reset r{s};
    return sqlite3_step(s) == SQLITE_ROW ? static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)) : 0;
}

void Store::refresh_used() {
    // After every commit: two reads of the database header, which is in the page cache. The page
    // size is read once, when the database opens.
    std::uint64_t pages = pragma_number("PRAGMA page_count"), free_pages = pragma_number("PRAGMA freelist_count");
    stats_.used_bytes = (pages - std::min(pages, free_pages)) * page_size_;
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
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return;
    std::uint64_t dropped_batches = 0, dropped_readings = 0;
    StoreStats before = stats_;
    std::uint64_t after = 0;
    while (true) {
        sqlite3_stmt* s = prepare(
            "SELECT sequence, created_ns, readings, bytes FROM batches WHERE closed = 1 AND sequence > ? ORDER BY sequence LIMIT 1");
        std::uint64_t seq = 0, readings = 0, bytes = 0;
        std::int64_t created = 0;
        {
            Reset r{s};
            sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after));
            if (sqlite3_step(s) != SQLITE_ROW) break;
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
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            stats_ = before;
            return;
        }
        dropped = true;
        ++dropped_batches;
        dropped_readings += readings;
        stats_.bytes -= std::min(stats_.bytes, bytes);
        stats_.depth -= std::min<std::uint64_t>(stats_.depth, 1);
        refresh_used();
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        last_error_ = std::string("store ") + path_ + ": " + sqlite3_errmsg(db_);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        stats_ = before;
        return;
    }
    stats_.dropped_batches += dropped_batches;
    stats_.dropped_readings += dropped_readings;
    if (dropped) refresh_sizes();
    if (dropped) log::warning("store: limit reached; dropped oldest unsent batches (", stats_.dropped_batches,
                              " batches, ", stats_.dropped_readings, " readings so far)");
}

}  // namespace loopgate
