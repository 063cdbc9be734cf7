// The power-cut VFS (tests/gateway/store/power_cut_vfs.hpp) is faithful: what SQLite synced survives a cut,
// what it did not sync is really gone, and torn writes never make a WAL database unreadable. The
// store's crash-consistency tests (test_store_power_cut.cpp) mean something only if these hold.

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>
#include <string>

#include "gateway/store/batch_payload.hpp"
#include "gateway/store/store.hpp"
#include "one_reading_batch.hpp"
#include "power_cut_vfs.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
using loopgate::testing::PowerCutVfs;

namespace {

// In memory when the machine has a tmpfs: SQLite's own VFS, used to read the files back, syncs.
struct Db {
    sqlite3* handle = nullptr;
    explicit Db(const std::string& path, const char* vfs = nullptr) {
        REQUIRE(sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) == SQLITE_OK);
    }
    ~Db() { sqlite3_close_v2(handle); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &err);
        INFO(sql << ": " << (err ? err : ""));
        sqlite3_free(err);
        REQUIRE(rc == SQLITE_OK);
    }
    std::string text(const char* sql) {
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(handle, sql, -1, &s, nullptr) == SQLITE_OK);
        std::string out = sqlite3_step(s) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "";
        sqlite3_finalize(s);
        return out;
    }
    long long number(const char* sql) { return std::stoll(text(sql)); }
};

}  // namespace

TEST_CASE("power-cut VFS: a commit under synchronous=FULL survives a cut", "[power-cut-vfs]") {
    testing::TempDir dir{"power-cut-vfs", testing::Medium::memory};
    PowerCutVfs vfs;
    std::mt19937_64 rng(1);
    {
        Db db(dir.file("test.db"), vfs.name().c_str());
        db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x); INSERT INTO t VALUES (1)");
        vfs.cut_now();
    }  // closing with the power off: its checkpoint reaches nothing
    vfs.restore_after_power_cut(PowerCutVfs::Loss::all_unsynced, rng);
    Db db(dir.file("test.db"));  // SQLite's own VFS: the files are an ordinary database
    CHECK(db.number("SELECT count(*) FROM t") == 1);
    CHECK(db.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("power-cut VFS: a commit under synchronous=OFF is lost in a cut, though it was written", "[power-cut-vfs]") {
    testing::TempDir dir{"power-cut-vfs", testing::Medium::memory};
    PowerCutVfs vfs;
    std::mt19937_64 rng(1);
    {
        Db db(dir.file("test.db"), vfs.name().c_str());
        db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x); INSERT INTO t VALUES (1)");
        db.exec("PRAGMA synchronous=OFF; INSERT INTO t VALUES (2)");
        auto wal_size = std::filesystem::file_size(dir.file("test.db") + "-wal");
        {
            Db reader(dir.file("test.db"));  // another process would see it: it is in the files, just not durable
            CHECK(reader.number("SELECT count(*) FROM t") == 2);
        }
        CHECK(std::filesystem::file_size(dir.file("test.db") + "-wal") == wal_size);
        vfs.cut_now();
    }
    vfs.restore_after_power_cut(PowerCutVfs::Loss::all_unsynced, rng);
    CHECK_FALSE(std::filesystem::exists(dir.file("test.db") + "-shm"));
    Db db(dir.file("test.db"));
    CHECK(db.number("SELECT count(*) FROM t") == 1);
    CHECK(db.number("SELECT max(x) FROM t") == 1);
}

TEST_CASE("power-cut VFS: a file never synced is gone after a cut, a synced one keeps its content", "[power-cut-vfs]") {
    testing::TempDir dir{"power-cut-vfs", testing::Medium::memory};
    PowerCutVfs vfs;
    std::mt19937_64 rng(1);
    {
        Db db(dir.file("test.db"), vfs.name().c_str());
        db.exec("PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)");
        vfs.cut_now();
    }
    REQUIRE(std::filesystem::exists(dir.file("test.db")));
    REQUIRE(std::filesystem::exists(dir.file("test.db") + "-wal"));
    vfs.restore_after_power_cut(PowerCutVfs::Loss::all_unsynced, rng);
    CHECK_FALSE(std::filesystem::exists(dir.file("test.db")));
    CHECK_FALSE(std::filesystem::exists(dir.file("test.db") + "-wal"));
}

TEST_CASE("power-cut VFS: syncs fail and writes vanish once the power is off", "[power-cut-vfs]") {
    testing::TempDir dir{"power-cut-vfs", testing::Medium::memory};
    PowerCutVfs vfs;
    Db db(dir.file("test.db"), vfs.name().c_str());
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    auto wal_size = std::filesystem::file_size(dir.file("test.db") + "-wal");
    std::uint64_t calls = vfs.io_calls();
    vfs.cut_at_io_call(1);  // the first write of the next commit
    CHECK(sqlite3_exec(db.handle, "INSERT INTO t VALUES (2)", nullptr, nullptr, nullptr) != SQLITE_OK);
    CHECK(vfs.is_cut());
    CHECK(vfs.io_calls() == calls + 1);
    CHECK(std::filesystem::file_size(dir.file("test.db") + "-wal") == wal_size);
    CHECK(vfs.sync_file(dir.file("test.db") + "-wal") == EIO);
}

TEST_CASE("power-cut VFS: torn and reordered unsynced writes never make a WAL database unreadable", "[power-cut-vfs]") {
    PowerCutVfs vfs;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        INFO("seed " << seed);
        testing::TempDir dir{"power-cut-vfs", testing::Medium::memory};
        std::mt19937_64 rng(seed);
        {
            Db db(dir.file("test.db"), vfs.name().c_str());
            db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x, pad)");
            db.exec("INSERT INTO t VALUES (1, zeroblob(3000))");
            db.exec("PRAGMA synchronous=OFF");
            for (int i = 2; i <= 20; ++i) db.exec("INSERT INTO t VALUES (" + std::to_string(i) + ", randomblob(700))");
            if (seed % 2) db.exec("PRAGMA wal_checkpoint(PASSIVE)");
            vfs.cut_now();
        }
        vfs.restore_after_power_cut(PowerCutVfs::Loss::any_subset, rng);
        Db db(dir.file("test.db"));
        CHECK(db.text("PRAGMA integrity_check") == "ok");
        // Transactions are atomic and kept in order: some first n of them survive.
        long long n = db.number("SELECT count(*) FROM t");
        CHECK(n >= 1);
        CHECK(db.number("SELECT max(x) FROM t") == n);
    }
}

TEST_CASE("power-cut VFS under the store: a batch committed with synchronous=FULL survives, one awaiting its sync does not",
          "[power-cut-vfs][store]") {
    testing::TempDir dir{"power-cut-vfs", testing::Medium::memory};
    PowerCutVfs vfs;
    std::mt19937_64 rng(1);
    const StoreLimits roomy{1ull << 30, 0, 64 << 20};
    std::uint64_t kept = 0, lost = 0;
    {
        Store s(dir.file("test.db"), roomy, StoreOptions{vfs.name(), nullptr});
        kept = testing::add_one_reading_batch(s);
        CHECK(s.read_after(0, 10).size() == 1);
        vfs.cut_now();
    }
    vfs.restore_after_power_cut(PowerCutVfs::Loss::all_unsynced, rng);
    {
        // After the store's own sync at open, a WAL sync that never gets through: the batch is
        // committed but never durable.
        bool refuse = false;
        Store s(dir.file("test.db"), roomy, StoreOptions{vfs.name(), [&](const std::string& path) { return refuse ? EIO : vfs.sync_file(path); }});
        refuse = true;
        REQUIRE(s.read_after(0, 10).size() == 1);
        s.sync_in_background([](std::function<void()>) {}, [] {});
        lost = testing::add_one_reading_batch(s);
        CHECK(s.durable_through() == kept);
        vfs.cut_now();
    }
    vfs.restore_after_power_cut(PowerCutVfs::Loss::all_unsynced, rng);
    Store s(dir.file("test.db"), roomy);
    auto batches = s.read_after(0, 10);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].sequence == kept);
    CHECK(s.next_sequence() == lost);  // never handed out, so its id may come again
}
