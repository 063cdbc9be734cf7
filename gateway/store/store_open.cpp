#include "gateway/store/store_open.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "gateway/store/id_marks.hpp"
#include "gateway/store/sql.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/store_layout.hpp"
#include "gateway/store/wal_check.hpp"
#include "gateway/store/wal_syncer.hpp"

namespace loopgate {

namespace {

constexpr std::size_t aside_copies_kept = 3;
// Opens tried while the disk reports I/O errors, before the start fails.
constexpr int open_attempts = 3;

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
static_assert(store_layout::part_bits == 20, "upgrade_from_layout_1 shifts sequences by part_bits");
const char* const upgrade_from_layout_1 = R"(
UPDATE batches SET closed = 1 WHERE closed = 0;
CREATE TABLE parts_2 (id INTEGER PRIMARY KEY, readings INTEGER NOT NULL, payload BLOB NOT NULL);
INSERT INTO parts_2 (id, readings, payload)
  SELECT (sequence << 20) + row_number() OVER (PARTITION BY sequence ORDER BY id) - 1, 0, payload FROM parts;
DROP TABLE parts;
ALTER TABLE parts_2 RENAME TO parts;
)";

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

// A statement run once at open that answers one number (0 when it answers nothing). A failed step
// throws: a user_version read as 0 would run the layout-1 upgrade on a current store.
int single_int(sqlite3* db, const std::string& path, const char* query) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, query, -1, &s, nullptr);
    if (rc != SQLITE_OK)
        throw sql::Error("store " + path + ": " + query + ": " + sqlite3_errmsg(db) + " (SQLite code " + std::to_string(rc) + ")", rc);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owned(s, sqlite3_finalize);
    return sql::step_row(s) ? sqlite3_column_int(s, 0) : 0;
}

}  // namespace

// At open, any of these means the file is not a store SQLite can read: a damaged header reads as
// "unsupported file format" (SQLITE_ERROR), not only as SQLITE_CORRUPT or SQLITE_NOTADB. Errors that
// say the disk or the permissions are at fault (CANTOPEN, IOERR, PERM, FULL...) are not corruption:
// the files must stay where they are.
bool is_corruption(int code) {
    int primary = code & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT || primary == SQLITE_ERROR;
}

std::optional<std::string> wal_damage(const std::string& path) {
    std::error_code ec;
    if (!(std::filesystem::file_size(path + "-wal", ec) > 0 && !ec)) return std::nullopt;
    std::vector<std::uint8_t> bytes = read_file_bytes(path + "-wal");
    std::vector<std::uint8_t> index = index_written_this_boot(path + "-shm");
    WalInspection wal = inspect_wal(bytes, index);
    if (!wal.damaged) return std::nullopt;
    return wal.reason;
}

std::string move_aside(const std::string& path_, const std::string& why, bool keep_using) {
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
    return aside;
}

void upgrade_layout(sqlite3* db, const std::string& path) {
    int version = single_int(db, path, "PRAGMA user_version");
    if (version == store_layout::version) return;
    if (version > store_layout::version)
        throw sql::Error("store " + path + ": written by a newer loopgate (layout " + std::to_string(version) +
                             "; this one knows up to " + std::to_string(store_layout::version) + ")",
                         SQLITE_CANTOPEN);
    bool has_parts = single_int(db, path, "SELECT count(*) FROM sqlite_schema WHERE name = 'parts'") > 0;
    bool layout_1 = has_parts && version < 2;
    sql::Transaction transaction(db);
    if (layout_1) sql::exec(db, upgrade_from_layout_1);
    if (has_parts && version < 3) sql::exec(db, "ALTER TABLE parts ADD COLUMN crc INTEGER");
    if (has_parts && version < 4) sql::exec(db, "ALTER TABLE parts ADD COLUMN encoding INTEGER");
    sql::exec(db, schema);
    sql::exec(db, ("PRAGMA user_version = " + std::to_string(store_layout::version)).c_str());
    transaction.commit();
    if (has_parts) log::info("store ", path, ": upgraded from layout ", layout_1 ? 1 : version, " to layout ", store_layout::version);
}

Store::Store(const std::string& path, const StoreLimits& limits, StoreOptions options)
    : path_(path), limits_(limits), options_(std::move(options)), queue_(limits.max_pending_bytes) {
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
    if (auto damage = wal_damage(path_)) {
        count_recovery(move_aside(path_, "its write-ahead log is damaged: " + *damage, true));
        recovered = true;
    }
    // An I/O error is the disk's, not damage of the file: moving the store aside for it would take
    // its backlog out of the pipeline. The open is tried again (a read a flaky SD card fails once at
    // boot), and if the disk keeps failing the start fails naming the error, the store left in place.
    for (int attempt = 1;; ++attempt) {
        try {
            open_database();
            break;
        } catch (const sql::Error& e) {
            close_database();
            bool disk_error = (e.code & 0xff) == SQLITE_IOERR;
            if (disk_error && attempt < open_attempts) {
                log::warning(e.what(), "; opening it again");
                std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt * attempt));
                continue;
            }
            if (!is_corruption(e.code)) throw std::runtime_error(e.what());
            count_recovery(move_aside(path_, e.what(), false));
            recovered = true;
            open_database();
            break;
        }
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

void Store::count_recovery(const std::string& aside) {
    ++stats_.recoveries;
    stats_.recovered_from = aside;
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

void Store::open_database() {
    close_database();
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             options_.vfs.empty() ? nullptr : options_.vfs.c_str());
    if (rc != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw sql::Error("store " + path_ + ": cannot open: " + why, rc);
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
    upgrade_layout(db_, path_);
    // A quick structural check catches files that are damaged beyond the header.
    // The statement is reset at once: a statement left mid-row holds a read snapshot, and a
    // snapshot held from the start keeps every checkpoint from getting past it (the WAL then grows
    // without bound).
    // A check that could not read (an I/O error) throws that error, not a verdict of damage: the
    // store is not moved aside for a read the disk failed once.
    std::string verdict = "no answer";
    {
        sqlite3_stmt* check = prepare("PRAGMA quick_check");
        sql::Reset r{check};
        if (sql::step_row(check)) verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
    }
    if (verdict != "ok") {
        // quick_check reports a page it could not read as a finding ("unable to get the page. error
        // code=266"): with an I/O error's code, that is the disk, not the file's structure.
        constexpr std::string_view code_marker = "error code=";
        int code = SQLITE_CORRUPT;
        if (auto at = verdict.find(code_marker); at != std::string::npos) {
            int reported = std::atoi(verdict.c_str() + at + code_marker.size());
            if ((reported & 0xff) == SQLITE_IOERR) code = reported;
        }
        throw sql::Error("store " + path_ + ": integrity check failed: " + verdict, code);
    }
    // Batches left open by a crash are complete as far as they got: total them and publish them.
    std::vector<std::uint64_t> left_open;
    sqlite3_stmt* o = prepare("SELECT sequence FROM batches WHERE closed = 0");
    {
        sql::Reset r{o};
        while (sql::step_row(o)) left_open.push_back(static_cast<std::uint64_t>(sqlite3_column_int64(o, 0)));
    }
    for (std::uint64_t seq : left_open) close_in_db(seq);
    sqlite3_stmt* s = prepare(
        "SELECT max(coalesce((SELECT value FROM meta WHERE key='last_sequence'),0), "
        "coalesce((SELECT max(sequence) FROM batches),0)), "
        "(SELECT count(*) FROM batches), (SELECT coalesce(sum(bytes),0) FROM batches)");
    {
        sql::Reset r{s};
        if (sql::step_row(s)) {
            last_sequence_ = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
            db_newest_ = last_sequence_;
            stats_.depth = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
            stats_.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
        }
    }
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

}  // namespace loopgate
