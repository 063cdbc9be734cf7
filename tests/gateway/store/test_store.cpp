// The store keeps every committed reading until acknowledged, hands batches out oldest first,
// survives reopening (and crashes mid-batch), and moves a corrupt file aside instead of failing.

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/hex.hpp"
#include "gateway/store/batch_payload.hpp"
#include "gateway/store/crc32c.hpp"
#include "gateway/store/store.hpp"
#include "gateway/store/wal_check.hpp"
#include "posted_queue.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
using loopgate::testing::PostedQueue;

namespace {

const StoreLimits roomy{1ull << 30, 0, 64 << 20};

Reading reading(const std::string& device, std::uint64_t seq, double v) {
    Reading r;
    r.device = device;
    r.metric = "m";
    r.value = v;
    r.sequence = seq;
    return r;
}

// Stores one closed batch holding `n` readings of device d, values first..first+n-1.
std::uint64_t add_batch(Store& s, int first, int n, std::int64_t created = 1) {
    std::uint64_t seq = s.next_sequence();
    s.open_batch(seq, created, encode_batch_header("gw", seq, created));
    for (int i = 0; i < n; ++i) {
        std::vector<Reading> one{reading("d", static_cast<std::uint64_t>(first + i), first + i)};
        s.append(seq, encode_readings(one), 1, {{"d", static_cast<std::uint64_t>(first + i)}});
    }
    s.close_batch(seq);
    REQUIRE(s.commit());
    return seq;
}

v1::Batch parse(const std::string& payload) {
    v1::Batch b;
    REQUIRE(b.ParseFromString(payload));
    return b;
}

}  // namespace

TEST_CASE("a batch's parts read back as one protobuf Batch, readings in order", "[store]") {
    testing::TempDir dir{"store"};
    Store s(dir.file("store.db"), roomy);
    std::uint64_t seq = add_batch(s, 1, 3, 42);
    auto batches = s.read_after(0, 10);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].readings == 3);
    v1::Batch b = parse(batches[0].payload);
    CHECK(b.gateway_id() == "gw");
    CHECK(b.batch_sequence() == seq);
    CHECK(b.created_time_ns() == 42);
    REQUIRE(b.readings_size() == 3);
    CHECK(b.readings(0).double_value() == 1);
    CHECK(b.readings(2).double_value() == 3);
    CHECK_FALSE(b.historical());
    CHECK(parse(mark_historical(batches[0].payload)).historical());
}

TEST_CASE("batches come out oldest first and leave only when acknowledged", "[store]") {
    testing::TempDir dir{"store"};
    Store s(dir.file("store.db"), roomy);
    for (int i = 0; i < 5; ++i) add_batch(s, i * 10, 2, 100 + i);
    CHECK(s.stats().depth == 5);
    auto first = s.read_after(0, 3);
    REQUIRE(first.size() == 3);
    CHECK(first[0].created_ns == 100);
    CHECK(first[2].created_ns == 102);
    CHECK(s.read_after(first.back().sequence, 10).front().created_ns == 103);
    s.remove(first[1].sequence);
    s.remove(first[0].sequence);
    CHECK(s.read_after(0, 1).front().created_ns == 102);  // acknowledged, even before the delete commits
    REQUIRE(s.commit());
    CHECK(s.stats().depth == 3);
    CHECK(s.oldest_created_ns() == 102);
}

TEST_CASE("an open batch is not published until closed, and a crash closes it on the next start", "[store]") {
    testing::TempDir dir{"store"};
    std::uint64_t seq = 0;
    {
        Store s(dir.file("store.db"), roomy);
        seq = s.next_sequence();
        s.open_batch(seq, 7, encode_batch_header("gw", seq, 7));
        std::vector<Reading> one{reading("d", 1, 1.5)};
        s.append(seq, encode_readings(one), 1, {{"d", 1}});
        REQUIRE(s.commit());
        CHECK(s.read_after(0, 10).empty());
    }  // the process "dies" with the batch open
    Store s(dir.file("store.db"), roomy);
    auto batches = s.read_after(0, 10);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].sequence == seq);
    CHECK(batches[0].readings == 1);
    CHECK(parse(batches[0].payload).readings(0).double_value() == 1.5);
    CHECK(s.stats().bytes == batches[0].payload.size());
}

TEST_CASE("reopening keeps unacknowledged batches and device sequences, and never reuses a batch id", "[store]") {
    testing::TempDir dir{"store"};
    std::uint64_t last = 0;
    {
        Store s(dir.file("store.db"), roomy);
        add_batch(s, 1, 2);
        last = add_batch(s, 3, 2);
        s.remove(last - 1);
        s.remove(last);
        REQUIRE(s.commit());
        CHECK(s.stats().depth == 0);
    }
    Store s(dir.file("store.db"), roomy);
    CHECK(s.stats().depth == 0);
    CHECK(s.next_sequence() == last + 1);
    CHECK(s.device_sequences().at("d") == 4);
}

TEST_CASE("a batch id is never reused even after the age limit dropped every batch", "[store]") {
    testing::TempDir dir{"store"};
    std::uint64_t last = 0;
    {
        Store s(dir.file("store.db"), StoreLimits{1ull << 30, 1000, 64 << 20});
        add_batch(s, 1, 2, 0);
        last = add_batch(s, 3, 2, 0);
        s.enforce_limits(10'000'000'000LL, false);
        CHECK(s.stats().depth == 0);
    }
    Store s(dir.file("store.db"), roomy);
    CHECK(s.next_sequence() == last + 1);
}

namespace {

// `bytes` as an SQL blob literal, x'...'.
std::string sql_blob(const std::string& bytes) {
    return "x'" + hex(bytes) + "'";
}

void sql(const std::string& path, const char* text) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, text, nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("a store of layout 1 is upgraded in place, its batches and sequences kept", "[store]") {
    testing::TempDir dir{"store"};
    // Layout 1 as the first releases wrote it: batch 7 closed with two parts, batch 8 left open by a
    // crash with a header and one part; parts of the two batches interleaved in id order.
    std::string header7 = encode_batch_header("gw", 7, 70), header8 = encode_batch_header("gw", 8, 80);
    std::vector<Reading> r1{reading("d", 11, 1.0)}, r2{reading("d", 12, 2.0)}, r3{reading("d", 13, 3.0)};
    std::string p1 = encode_readings(r1), p2 = encode_readings(r2), p3 = encode_readings(r3);
    std::string script =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE batches (sequence INTEGER PRIMARY KEY, created_ns INTEGER NOT NULL,"
        " closed INTEGER NOT NULL DEFAULT 0, readings INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE parts (id INTEGER PRIMARY KEY, sequence INTEGER NOT NULL, payload BLOB NOT NULL);"
        "CREATE INDEX parts_by_batch ON parts(sequence, id);"
        "CREATE TABLE device_sequences (device TEXT PRIMARY KEY, sequence INTEGER NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO batches VALUES (7, 70, 1, 2, 0), (8, 80, 0, 1, 0);"
        "INSERT INTO parts (id, sequence, payload) VALUES (1, 7, " + sql_blob(header7) + "), (2, 7, " + sql_blob(p1) +
        "), (3, 8, " + sql_blob(header8) + "), (4, 7, " + sql_blob(p2) + "), (5, 8, " + sql_blob(p3) + ");"
        "INSERT INTO device_sequences VALUES ('d', 13);"
        "INSERT INTO meta VALUES ('last_sequence', 8);";
    sql(dir.file("store.db"), script.c_str());

    Store s(dir.file("store.db"), roomy);
    auto batches = s.read_after(0, 10);
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].sequence == 7);
    CHECK(batches[0].readings == 2);
    v1::Batch b7 = parse(batches[0].payload);
    CHECK(b7.batch_sequence() == 7);
    REQUIRE(b7.readings_size() == 2);
    CHECK(b7.readings(1).double_value() == 2.0);
    CHECK(batches[1].readings == 1);
    CHECK(parse(batches[1].payload).readings(0).double_value() == 3.0);
    CHECK(s.next_sequence() == 9);
    CHECK(s.device_sequences().at("d") == 13);

    // And it goes on working as a layout 2 store.
    std::uint64_t next = add_batch(s, 14, 1);
    s.remove(7);
    REQUIRE(s.commit());
    CHECK(s.read_after(0, 10).size() == 2);
    CHECK(s.read_after(8, 10).front().sequence == next);
}

namespace {

// (rows, encoding of the last row, stored bytes) of the parts table, read with SQLite directly.
struct PartRows {
    int rows = 0;
    int last_encoding = -1;
    std::int64_t stored_bytes = 0;
};

PartRows part_rows(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT coalesce(encoding, 0), length(payload) FROM parts ORDER BY id", -1, &st, nullptr) == SQLITE_OK);
    PartRows out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        ++out.rows;
        out.last_encoding = sqlite3_column_int(st, 0);
        out.stored_bytes += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

}  // namespace

TEST_CASE("what one commit writes of a batch is one row, deflated when it holds many readings, and reads back byte for byte", "[store]") {
    testing::TempDir dir{"store"};
    std::string written;
    {
        Store s(dir.file("store.db"), roomy);
        std::uint64_t seq = s.next_sequence();
        written = encode_batch_header("gw", seq, 5);
        s.open_batch(seq, 5, written);
        for (std::uint64_t k = 1; k <= 45; ++k) {
            std::vector<Reading> two{reading("weather-station-1", 2 * k - 1, 21.25), reading("weather-station-1", 2 * k, 1013.2)};
            std::string part = encode_readings(two);
            written += part;
            s.append(seq, part, 2, {{"weather-station-1", 2 * k}});
        }
        s.close_batch(seq);
        REQUIRE(s.commit());
        CHECK(s.stats().bytes * 3 < written.size());  // what the disk holds
    }
    PartRows rows = part_rows(dir.file("store.db"));
    CHECK(rows.rows == 1);
    CHECK(rows.last_encoding == 1);
    CHECK(rows.stored_bytes * 3 < static_cast<std::int64_t>(written.size()));

    Store s(dir.file("store.db"), roomy);
    auto out = s.read_after(0, 10);
    REQUIRE(out.size() == 1);
    CHECK(out[0].readings == 90);
    CHECK(out[0].payload == written);
    CHECK(parse(out[0].payload).readings_size() == 90);
}

TEST_CASE("a store of layout 3 is upgraded in place: its parts read back as they were, new ones may be deflated", "[store]") {
    testing::TempDir dir{"store"};
    std::string header = encode_batch_header("gw", 4, 40);
    std::vector<Reading> r1{reading("d", 1, 1.0)};
    std::string p1 = encode_readings(r1);
    std::string script =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE batches (sequence INTEGER PRIMARY KEY, created_ns INTEGER NOT NULL,"
        " closed INTEGER NOT NULL DEFAULT 0, readings INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE parts (id INTEGER PRIMARY KEY, readings INTEGER NOT NULL, payload BLOB NOT NULL, crc INTEGER);"
        "CREATE TABLE device_sequences (device TEXT PRIMARY KEY, sequence INTEGER NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO batches VALUES (4, 40, 1, 1, 0);"
        "INSERT INTO parts VALUES (4 << 20, 0, " + sql_blob(header) + ", " + std::to_string(crc32c(header)) + "), ((4 << 20) + 1, 1, " +
        sql_blob(p1) + ", " + std::to_string(crc32c(p1)) + ");"
        "INSERT INTO device_sequences VALUES ('d', 1);"
        "PRAGMA user_version = 3;";
    sql(dir.file("store.db"), script.c_str());

    Store s(dir.file("store.db"), roomy);
    auto out = s.read_after(0, 10);
    REQUIRE(out.size() == 1);
    CHECK(out[0].payload == header + p1);
    CHECK(s.stats().damaged_parts == 0);
    std::uint64_t next = add_batch(s, 2, 60);
    auto both = s.read_after(0, 10);
    REQUIRE(both.size() == 2);
    CHECK(both[1].sequence == next);
    CHECK(parse(both[1].payload).readings_size() == 60);
    CHECK(part_rows(dir.file("store.db")).last_encoding == 1);
}

TEST_CASE("a store written by a newer loopgate is refused, not rewritten", "[store]") {
    testing::TempDir dir{"store"};
    sql(dir.file("store.db"), "CREATE TABLE batches (sequence INTEGER PRIMARY KEY); PRAGMA user_version = 99;");
    CHECK_THROWS_WITH(Store(dir.file("store.db"), roomy), Catch::Contains("newer loopgate") && Catch::Contains(dir.file("store.db")));
    CHECK(std::filesystem::exists(dir.file("store.db")));
}

TEST_CASE("syncing in the background, a batch is handed out only once its readings are durable", "[store]") {
    testing::TempDir dir{"store"};
    PostedQueue loop;  // outlives the store, whose syncer may still post while it closes
    Store s(dir.file("store.db"), roomy);
    int durable_calls = 0;
    s.sync_in_background([&](std::function<void()> f) { loop.post(std::move(f)); }, [&] { ++durable_calls; });
    std::uint64_t seq = add_batch(s, 1, 3);
    CHECK(s.read_after(0, 10).empty());  // committed, but the sync has not reported back
    REQUIRE(loop.run(std::chrono::seconds(10)));
    auto batches = s.read_after(0, 10);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].sequence == seq);
    CHECK(durable_calls == 1);
    CHECK(s.stats().syncs == 1);
    CHECK(s.stats().sync_failures == 0);

    add_batch(s, 4, 1);
    s.sync_now();  // shutdown does not wait for the thread
    CHECK(s.read_after(seq, 10).size() == 1);
}

TEST_CASE("syncing in the background, what was committed survives a reopen", "[store]") {
    testing::TempDir dir{"store"};
    {
        PostedQueue loop;
        Store s(dir.file("store.db"), roomy);
        s.sync_in_background([&](std::function<void()> f) { loop.post(std::move(f)); }, [] {});
        add_batch(s, 1, 2);
        add_batch(s, 3, 2);
    }  // closed before any sync reported back
    Store s(dir.file("store.db"), roomy);
    CHECK(s.read_after(0, 10).size() == 2);
    CHECK(s.device_sequences().at("d") == 4);
}

namespace {

constexpr std::uint64_t one_mib = 1u << 20;

// Stores one closed batch of one reading whose value is `kib` KiB of text.
// Printable text that deflate cannot shrink by a quarter: the store keeps it as it is, so a batch
// takes its size on disk.
std::string incompressible(std::size_t n, std::uint64_t seed) {
    std::string out(n, ' ');
    for (char& c : out) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        c = static_cast<char>(' ' + (seed >> 33) % 95);
    }
    return out;
}

std::uint64_t add_big_batch(Store& s, std::int64_t created, int kib = 64) {
    std::uint64_t seq = s.next_sequence();
    s.open_batch(seq, created, encode_batch_header("gw", seq, created));
    Reading r = reading("d", seq, 0);
    r.value = incompressible(static_cast<std::size_t>(kib) * 1024, seq);
    std::vector<Reading> one{r};
    s.append(seq, encode_readings(one), 1, {{"d", seq}});
    s.close_batch(seq);
    REQUIRE(s.commit());
    return seq;
}

std::uint64_t files_on_disk(const std::string& db) {
    std::uint64_t total = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ec;
        auto n = std::filesystem::file_size(db + suffix, ec);
        if (!ec) total += n;
    }
    return total;
}

}  // namespace

TEST_CASE("over the size limit the oldest batches are dropped and counted, and the files stay within the limit plus the stated margin", "[store]") {
    testing::TempDir dir{"store"};
    Store s(dir.file("store.db"), StoreLimits{one_mib, 0, 64 << 20});
    std::uint64_t most = 0;
    for (int i = 0; i < 60; ++i) {  // 60 x 64 KiB: nearly four times the limit
        add_big_batch(s, i);
        s.enforce_limits(0, true);
        most = std::max(most, files_on_disk(dir.file("store.db")));
    }
    CHECK(s.stats().used_bytes <= one_mib);
    CHECK(s.stats().dropped_batches >= 40);
    CHECK(s.stats().dropped_readings == s.stats().dropped_batches);
    CHECK(s.read_after(0, 1).front().created_ns == static_cast<std::int64_t>(s.stats().dropped_batches));
    CHECK(most <= one_mib + s.wal_limit() + s.max_chunk_bytes() + 64 * 1024);
}

TEST_CASE("stop_reading keeps batches over the size limit and takes no new readings, and max_age drops old ones regardless", "[store]") {
    testing::TempDir dir{"store"};
    Store s(dir.file("store.db"), StoreLimits{one_mib, 1000, 64 << 20, false});
    int stored = 0;
    while (!s.over_limit()) add_big_batch(s, (stored++) * 1'000'000'000LL);
    REQUIRE(stored > 10);
    // Full: a new batch stays in memory, nothing is dropped.
    std::uint64_t seq = s.next_sequence();
    s.open_batch(seq, 99'000'000'000LL, encode_batch_header("gw", seq, 1));
    std::vector<Reading> one{reading("d", 1000, 1)};
    s.append(seq, encode_readings(one), 1, {{"d", 1000}});
    CHECK_FALSE(s.commit());
    CHECK_THAT(s.last_error(), Catch::Contains("full"));
    s.enforce_limits(0, false);
    CHECK(s.stats().dropped_batches == 0);
    // At now = (stored - 4.5) s, the batches made before (stored - 5.5) s are over 1 s old and go.
    s.enforce_limits((stored - 5) * 1'000'000'000LL + 500'000'000LL, false);
    CHECK(s.stats().dropped_batches == static_cast<std::uint64_t>(stored - 5));
    CHECK(s.read_after(0, 1).front().created_ns == (stored - 5) * 1'000'000'000LL);
    CHECK_FALSE(s.over_limit());
    CHECK(s.commit());
}

TEST_CASE("in steady state the write-ahead log is checkpointed and stays within its limit", "[store]") {
    testing::TempDir dir{"store"};
    Store s(dir.file("store.db"), roomy);
    std::uint64_t largest = 0;
    // Every commit appends at least a page: 3,000 commits write about 12 MB of log.
    for (int i = 0; i < 1500; ++i) {
        std::uint64_t seq = add_batch(s, i, 1);
        s.remove(seq);
        REQUIRE(s.commit());
        std::error_code ec;
        largest = std::max<std::uint64_t>(largest, std::filesystem::file_size(dir.file("store.db") + "-wal", ec));
    }
    CHECK(largest <= s.wal_limit() + s.max_chunk_bytes());
    CHECK(std::filesystem::file_size(dir.file("store.db")) < 256 * 1024);
}

TEST_CASE("a corrupt store is moved aside, never deleted, and a fresh one opened", "[store]") {
    testing::TempDir dir{"store"};
    {
        std::ofstream junk(dir.file("store.db"), std::ios::binary);
        junk << std::string(8192, '\x5a');
    }
    Store s(dir.file("store.db"), roomy);
    CHECK_FALSE(s.stats().recovered_from.empty());
    CHECK(s.stats().recoveries == 1);
    CHECK(std::filesystem::file_size(s.stats().recovered_from) == 8192);
    add_batch(s, 1, 1);
    CHECK(s.read_after(0, 10).size() == 1);
}

namespace {

void patch(const std::string& file, std::size_t offset, const std::string& bytes) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A store of `batches` closed batches of 3 readings each (device d, sequences 1..3*batches).
void fill(const std::string& db, int batches) {
    Store s(db, roomy);
    for (int i = 0; i < batches; ++i) add_batch(s, 1 + 3 * i, 3);
}

}  // namespace

TEST_CASE("after any recovery, batch ids and device sequences continue above every id handed out before", "[store]") {
    // The store is damaged three ways: garbage, a header SQLite reads as "unsupported file format",
    // and a header that is not SQLite's at all. Each time it is moved aside, and ids go on upward.
    for (auto damage : {std::make_pair(std::size_t{0}, std::string(4096, '\x5a')),
                        std::make_pair(std::size_t{18}, std::string("\x07\x07")),
                        std::make_pair(std::size_t{0}, std::string("Not SQLite at all"))}) {
        testing::TempDir dir{"store"};
        fill(dir.file("store.db"), 5);  // batches 1-5, device d up to 15
        patch(dir.file("store.db"), damage.first, damage.second);
        Store s(dir.file("store.db"), roomy);
        INFO("damage at " << damage.first);
        CHECK_FALSE(s.stats().recovered_from.empty());
        CHECK(std::filesystem::exists(s.stats().recovered_from));
        CHECK(s.next_sequence() > 5);
        CHECK(s.device_sequences()["d"] > 15);
        std::uint64_t next = add_batch(s, 100, 1);
        CHECK(next > 5);
    }
}

TEST_CASE("a store damaged with its id marks gone continues its ids from the clock", "[store]") {
    testing::TempDir dir{"store"};
    fill(dir.file("store.db"), 5);
    std::filesystem::remove(dir.file("store.db") + ".ids");
    patch(dir.file("store.db"), 0, std::string(100, '\x5a'));
    auto before_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    Store s(dir.file("store.db"), roomy);
    CHECK_FALSE(s.stats().recovered_from.empty());
    CHECK(s.next_sequence() > before_ms);
    CHECK(s.unknown_device_floor() >= before_ms);
}

TEST_CASE("only the three newest aside copies are kept", "[store]") {
    testing::TempDir dir{"store"};
    for (int i = 0; i < 5; ++i) {
        std::ofstream(dir.file("store.db") + ".corrupt-100000000" + std::to_string(i), std::ios::binary) << "old";
        std::ofstream(dir.file("store.db") + ".corrupt-100000000" + std::to_string(i) + "-wal", std::ios::binary) << "old";
    }
    fill(dir.file("store.db"), 2);
    patch(dir.file("store.db"), 0, std::string(100, '\x5a'));
    Store s(dir.file("store.db"), roomy);
    REQUIRE_FALSE(s.stats().recovered_from.empty());
    CHECK(std::filesystem::exists(s.stats().recovered_from));
    CHECK(std::filesystem::exists(dir.file("store.db") + ".corrupt-1000000004"));
    CHECK(std::filesystem::exists(dir.file("store.db") + ".corrupt-1000000003"));
    CHECK_FALSE(std::filesystem::exists(dir.file("store.db") + ".corrupt-1000000002"));
    CHECK_FALSE(std::filesystem::exists(dir.file("store.db") + ".corrupt-1000000000-wal"));
}

TEST_CASE("a payload the disk damaged is never published: the part is left out and counted", "[store]") {
    testing::TempDir dir{"store"};
    {
        Store s(dir.file("store.db"), roomy);
        std::uint64_t seq = s.next_sequence();
        s.open_batch(seq, 1, encode_batch_header("gw", seq, 1));
        std::vector<Reading> good{reading("d", 1, 1.0)};
        Reading marked = reading("d", 2, 0);
        marked.value = std::string("PAYLOAD-MARKER-0123456789");
        std::vector<Reading> bad{marked};
        s.append(seq, encode_readings(good), 1, {{"d", 1}});
        REQUIRE(s.commit());  // what one commit writes of a batch is one row: the bad part gets its own
        s.append(seq, encode_readings(bad), 1, {{"d", 2}});
        s.close_batch(seq);
        REQUIRE(s.commit());
    }  // closing checkpoints the log into the database file
    std::ifstream in(dir.file("store.db"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = bytes.find("PAYLOAD-MARKER");
    REQUIRE(at != std::string::npos);
    patch(dir.file("store.db"), at + 3, "\xff");  // a flipped byte SQLite's quick_check cannot see

    Store s(dir.file("store.db"), roomy);
    CHECK(s.stats().recovered_from.empty());
    auto out = s.read_after(0, 10);
    REQUIRE(out.size() == 1);
    v1::Batch b = parse(out[0].payload);
    REQUIRE(b.readings_size() == 1);
    CHECK(b.readings(0).double_value() == 1.0);
    CHECK(out[0].readings == 1);
    CHECK(s.stats().damaged_parts == 1);
    CHECK(s.stats().dropped_readings == 1);
}

TEST_CASE("a store path that cannot be opened is a clear error", "[store]") {
    CHECK_THROWS_WITH(Store("/nonexistent/dir/store.db", roomy), Catch::Contains("/nonexistent/dir/store.db"));
}

namespace {

// Writes `batches` batches of 3 readings in a child process that then dies without closing the
// store, as kill -9 would: the write-ahead log is left behind, not checkpointed.
void fill_and_die(const std::string& db, int batches) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto* s = new Store(db, roomy);
        for (int i = 0; i < batches; ++i) {
            std::uint64_t seq = s->next_sequence();
            s->open_batch(seq, 1, encode_batch_header("gw", seq, 1));
            std::vector<Reading> r{reading("d", static_cast<std::uint64_t>(3 * i + 1), i)};
            s->append(seq, encode_readings(r), 3, {{"d", static_cast<std::uint64_t>(3 * i + 3)}});
            s->close_batch(seq);
            if (!s->commit()) ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}

std::vector<std::uint8_t> read_bytes(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a write-ahead log torn at its end is normal: nothing is moved aside", "[store][wal]") {
    testing::TempDir dir{"store"};
    fill_and_die(dir.file("store.db"), 20);
    auto wal = read_bytes(dir.file("store.db") + "-wal");
    REQUIRE(wal.size() > 32 + 3 * 4120);
    CHECK_FALSE(inspect_wal(wal).damaged);
    CHECK(inspect_wal(wal).replayed == inspect_wal(wal).frames);
    std::filesystem::resize_file(dir.file("store.db") + "-wal", wal.size() - 1000);  // the last frame half written
    std::filesystem::remove(dir.file("store.db") + "-shm");  // by a power cut, which takes the index too
    auto torn = inspect_wal(read_bytes(dir.file("store.db") + "-wal"));
    CHECK_FALSE(torn.damaged);
    Store s(dir.file("store.db"), roomy);
    CHECK(s.stats().recovered_from.empty());
    CHECK(s.read_after(0, 100).size() >= 19);
    CHECK(s.next_sequence() == 20);  // the torn last transaction is gone, and was never handed out
}

TEST_CASE("a write-ahead log damaged in the middle is copied aside, logged and counted, what SQLite can read is kept, ids go on upward", "[store][wal]") {
    testing::TempDir dir{"store"};
    fill_and_die(dir.file("store.db"), 20);
    auto wal = read_bytes(dir.file("store.db") + "-wal");
    std::size_t frame = 24 + 4096;
    REQUIRE(wal.size() >= 32 + 8 * frame);
    std::size_t frames = (wal.size() - 32) / frame;
    patch(dir.file("store.db") + "-wal", 32 + (frames * 2 / 3) * frame + 24 + 200, "\x01\x02\x03");  // two thirds in
    auto damaged_wal = read_bytes(dir.file("store.db") + "-wal");
    WalInspection seen = inspect_wal(damaged_wal);
    CHECK(seen.damaged);
    CHECK(seen.lost_commits > 0);
    CHECK(seen.replayed < seen.frames);

    Store s(dir.file("store.db"), roomy);
    REQUIRE_FALSE(s.stats().recovered_from.empty());
    CHECK(s.stats().recoveries == 1);
    CHECK(read_bytes(s.stats().recovered_from + "-wal") == damaged_wal);  // kept for a person to salvage
    CHECK_FALSE(std::filesystem::exists(s.stats().recovered_from));        // the database is intact: used on
    CHECK(s.read_after(0, 100).size() >= 1);                               // the batches before the damage
    CHECK(s.next_sequence() > 20);
    CHECK(s.device_sequences()["d"] > 60);
}

namespace {

// Where a log's frames are, read from its header: the offset of each frame and whether it is a
// commit frame (nonzero "database size after commit").
struct WalLayout {
    std::size_t frame_size = 0;
    std::vector<std::size_t> offsets;
    std::vector<bool> commits;
};

WalLayout wal_layout(const std::vector<std::uint8_t>& wal) {
    auto be32 = [&](std::size_t at) {
        return (std::uint32_t{wal[at]} << 24) | (std::uint32_t{wal[at + 1]} << 16) | (std::uint32_t{wal[at + 2]} << 8) | wal[at + 3];
    };
    WalLayout out;
    out.frame_size = 24 + be32(8);
    for (std::size_t at = 32; at + out.frame_size <= wal.size(); at += out.frame_size) {
        out.offsets.push_back(at);
        out.commits.push_back(be32(at + 4) != 0);
    }
    return out;
}

// Where the last transaction of a log is: its first frame and its commit frame.
struct LastTransaction {
    WalLayout layout;
    std::size_t first = 0, commit = 0;
};

LastTransaction last_transaction(const std::string& wal_file) {
    LastTransaction t{wal_layout(read_bytes(wal_file))};
    REQUIRE(t.layout.offsets.size() >= 4);
    REQUIRE(t.layout.commits.back());  // the last transaction is whole: it committed
    t.commit = t.layout.offsets.size() - 1;
    t.first = t.commit;
    while (t.first > 0 && !t.layout.commits[t.first - 1]) --t.first;
    REQUIRE(t.first < t.commit);  // it has frames before its commit frame
    return t;
}

void flip(const std::string& file, std::size_t offset) {
    auto bytes = read_bytes(file);
    patch(file, offset, std::string(1, static_cast<char>(bytes.at(offset) ^ 0x5a)));
}

// The store after damage in the log's last transaction: copied aside, counted, the 19 batches
// before it kept, and no id of batch 20 (which may have gone out) given again.
void check_recovered_from_damage(const std::string& db, const std::vector<std::uint8_t>& damaged_wal) {
    Store s(db, roomy);
    REQUIRE_FALSE(s.stats().recovered_from.empty());
    CHECK(s.stats().recoveries == 1);
    CHECK(read_bytes(s.stats().recovered_from + "-wal") == damaged_wal);  // the lost transaction, for a person
    CHECK(s.read_after(0, 100).size() == 19);                              // what SQLite could still read
    CHECK(s.next_sequence() > 20);
    CHECK(s.device_sequences()["d"] > 60);
}

}  // namespace

TEST_CASE("after a kill -9, damage inside the last committed transaction of the log is damage, not a torn tail", "[store][wal]") {
    // SQLite drops it as silently as damage in the middle: the transaction's readings would vanish.
    // Its index (-shm), kept by the page cache, says the transaction was committed.
    testing::TempDir dir{"store"};
    fill_and_die(dir.file("store.db"), 20);
    std::string wal_file = dir.file("store.db") + "-wal";
    LastTransaction last = last_transaction(wal_file);
    const WalLayout& layout = last.layout;
    SECTION("a byte of the commit frame's page") { flip(wal_file, layout.offsets[last.commit] + 24 + 100); }
    SECTION("the commit frame's recorded checksum") { flip(wal_file, layout.offsets[last.commit] + 20); }
    SECTION("the checksum recorded in one of its other frames") { flip(wal_file, layout.offsets[last.first] + 16); }
    SECTION("the commit frame zeroed") { patch(wal_file, layout.offsets[last.commit], std::string(layout.frame_size, '\0')); }
    auto damaged_wal = read_bytes(wal_file);
    WalInspection seen = inspect_wal(damaged_wal, read_bytes(dir.file("store.db") + "-shm"));
    CHECK(seen.damaged);
    CHECK(seen.lost_commits == 1);
    CHECK(seen.replayed == last.first);
    check_recovered_from_damage(dir.file("store.db"), damaged_wal);
}

TEST_CASE("after a power cut, damage before the last commit frame of the log is damage", "[store][wal]") {
    // The power cut took the index: the log alone must tell. A tear cannot leave a bad frame in front
    // of a commit frame written after it (unless the disk wrote them out of order).
    testing::TempDir dir{"store"};
    fill_and_die(dir.file("store.db"), 20);
    std::filesystem::remove(dir.file("store.db") + "-shm");
    std::string wal_file = dir.file("store.db") + "-wal";
    LastTransaction last = last_transaction(wal_file);
    const WalLayout& layout = last.layout;
    SECTION("a byte of a page") { flip(wal_file, layout.offsets[last.first] + 24 + 100); }
    SECTION("a recorded checksum, which the frames after it are chained to") { flip(wal_file, layout.offsets[last.first] + 16); }
    SECTION("a frame header zeroed, salts and all") { patch(wal_file, layout.offsets[last.first], std::string(24, '\0')); }
    auto damaged_wal = read_bytes(wal_file);
    WalInspection seen = inspect_wal(damaged_wal);
    CHECK(seen.damaged);
    CHECK(seen.lost_commits == 1);
    check_recovered_from_damage(dir.file("store.db"), damaged_wal);
}

TEST_CASE("a commit frame that never reached the disk whole is a torn tail: nothing is moved aside", "[store][wal]") {
    testing::TempDir dir{"store"};
    std::string db = dir.file("store.db");
    fill_and_die(db, 19);
    auto index_before = read_bytes(db + "-shm");
    fill_and_die(db, 1);  // batch 20, in the same log generation
    std::string wal_file = db + "-wal";
    LastTransaction last = last_transaction(wal_file);
    const WalLayout& layout = last.layout;
    SECTION("a kill between SQLite's writes of its header and its page: the index counts the commit before") {
        flip(wal_file, layout.offsets[last.commit] + 24 + 100);  // the page as it was before: not this one
        std::ofstream(db + "-shm", std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(index_before.data()), static_cast<std::streamsize>(index_before.size()));
        CHECK_FALSE(inspect_wal(read_bytes(wal_file), read_bytes(db + "-shm")).damaged);
    }
    SECTION("a power cut while it was written: its header reached the disk, its page did not") {
        // Indistinguishable, in the log alone, from a commit frame damaged later: taken for the tear.
        std::filesystem::remove(db + "-shm");
        patch(wal_file, layout.offsets[last.commit] + 24 + 512, std::string(512, '\x77'));
        CHECK_FALSE(inspect_wal(read_bytes(wal_file)).damaged);
    }
    SECTION("a power cut before it was written: its place holds zeros, a frame before it is torn") {
        std::filesystem::remove(db + "-shm");
        patch(wal_file, layout.offsets[last.commit], std::string(layout.frame_size, '\0'));
        patch(wal_file, layout.offsets[last.commit - 1] + 24 + 512, std::string(512, '\x77'));
        CHECK_FALSE(inspect_wal(read_bytes(wal_file)).damaged);
    }
    Store s(db, roomy);
    CHECK(s.stats().recovered_from.empty());
    CHECK(s.stats().recoveries == 0);
    CHECK(s.read_after(0, 100).size() == 19);
    CHECK(s.next_sequence() == 20);  // the torn transaction's batch was never handed out
}

TEST_CASE("a write-ahead log whose header is damaged is copied aside too", "[store][wal]") {
    testing::TempDir dir{"store"};
    fill_and_die(dir.file("store.db"), 5);
    patch(dir.file("store.db") + "-wal", 16, "\xde\xad");  // a salt: the header checksum fails
    CHECK(inspect_wal(read_bytes(dir.file("store.db") + "-wal")).damaged);
    Store s(dir.file("store.db"), roomy);
    CHECK_FALSE(s.stats().recovered_from.empty());
    CHECK(s.next_sequence() > 5);
}

namespace {

const char* const unsynced = "clock not synchronized";
const std::string corrected = "corrected";
constexpr std::int64_t step = 1'000'000'000'000;  // the clock was 1000 s behind

Reading unsynced_reading(std::uint64_t seq, std::int64_t received) {
    Reading r = reading("d", seq, static_cast<double>(seq));
    r.quality = Quality::uncertain;
    r.quality_reason = unsynced;
    r.receive_time_ns = received;
    return r;
}

Store::PartFix correct_step() {
    return [](std::string_view part) { return correct_receive_times(part, unsynced, step, corrected); };
}

}  // namespace

TEST_CASE("a fact learnt later is written into the stored parts once: committed and queued ones, nothing outside the range", "[store]") {
    testing::TempDir dir{"store"};
    {
        Store s(dir.file("store.db"), roomy);
        std::uint64_t before = add_batch(s, 1, 1);  // another run's batch: not in the range
        std::uint64_t seq = s.next_sequence();
        s.open_batch(seq, 5, encode_batch_header("gw", seq, 5));
        std::vector<Reading> early{unsynced_reading(2, 100)};
        s.append(seq, encode_readings(early), 1, {{"d", 2}});
        REQUIRE(s.commit());  // on disk
        std::vector<Reading> late{unsynced_reading(3, 200)};
        s.append(seq, encode_readings(late), 1, {{"d", 3}});  // still queued
        s.close_batch(seq);

        REQUIRE(s.rewrite_parts(seq, seq, correct_step()));
        REQUIRE(s.commit());
        auto out = s.read_after(0, 10);
        REQUIRE(out.size() == 2);
        CHECK(out[0].sequence == before);
        CHECK(parse(out[0].payload).readings(0).receive_time_ns() == 0);
        v1::Batch b = parse(out[1].payload);
        REQUIRE(b.readings_size() == 2);
        CHECK(b.readings(0).receive_time_ns() == 100 + step);
        CHECK(b.readings(1).receive_time_ns() == 200 + step);
        CHECK(b.readings(0).quality_reason() == corrected);
        CHECK(b.readings(1).quality_reason() == corrected);
        CHECK(b.readings(0).quality() == v1::QUALITY_UNCERTAIN);
        CHECK(s.stats().bytes == out[0].payload.size() + out[1].payload.size());

        // Corrected once: a second pass finds nothing flagged and writes nothing.
        auto commits = s.stats().commits;
        REQUIRE(s.rewrite_parts(seq, seq, correct_step()));
        CHECK(s.stats().commits == commits);
    }
    // Durable: the corrected bytes are what a restarted gateway publishes.
    Store s(dir.file("store.db"), roomy);
    auto out = s.read_after(0, 10);
    REQUIRE(out.size() == 2);
    v1::Batch b = parse(out[1].payload);
    CHECK(b.readings(0).receive_time_ns() == 100 + step);
    CHECK(b.readings(1).receive_time_ns() == 200 + step);
    CHECK(s.stats().bytes == out[0].payload.size() + out[1].payload.size());
}

TEST_CASE("a row that does not inflate whole is damaged like one whose checksum fails: left out and counted", "[store]") {
    testing::TempDir dir{"store"};
    {
        Store s(dir.file("store.db"), roomy);
        std::uint64_t seq = s.next_sequence();
        s.open_batch(seq, 5, encode_batch_header("gw", seq, 5));
        std::vector<Reading> good{reading("d", 1, 1.0)}, bad{reading("d", 2, 2.0)};
        s.append(seq, encode_readings(good), 1, {{"d", 1}});
        REQUIRE(s.commit());
        s.append(seq, encode_readings(bad), 1, {{"d", 2}});
        s.close_batch(seq);
        REQUIRE(s.commit());
    }
    // The checksum still matches: only the row's encoding is wrong.
    sql(dir.file("store.db"), "UPDATE parts SET encoding = 1 WHERE id = (SELECT max(id) FROM parts)");

    Store s(dir.file("store.db"), roomy);
    auto out = s.read_after(0, 10);
    REQUIRE(out.size() == 1);
    v1::Batch b = parse(out[0].payload);
    REQUIRE(b.readings_size() == 1);
    CHECK(b.readings(0).double_value() == 1.0);
    CHECK(s.stats().damaged_parts == 1);
    CHECK(s.stats().dropped_readings == 1);
}

TEST_CASE("rewriting leaves a part the disk damaged alone, so it is still left out and counted", "[store]") {
    testing::TempDir dir{"store"};
    std::uint64_t seq = 0;
    {
        Store s(dir.file("store.db"), roomy);
        seq = s.next_sequence();
        s.open_batch(seq, 5, encode_batch_header("gw", seq, 5));
        std::vector<Reading> good{unsynced_reading(1, 100)}, damaged{unsynced_reading(2, 200)};
        s.append(seq, encode_readings(good), 1, {{"d", 1}});
        REQUIRE(s.commit());  // a row of its own for the part damaged below
        s.append(seq, encode_readings(damaged), 1, {{"d", 2}});
        s.close_batch(seq);
        REQUIRE(s.commit());
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("store.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE parts SET crc = crc + 1 WHERE id = (SELECT max(id) FROM parts)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);

    Store s(dir.file("store.db"), roomy);
    REQUIRE(s.rewrite_parts(seq, seq, correct_step()));
    auto out = s.read_after(0, 10);
    REQUIRE(out.size() == 1);
    v1::Batch b = parse(out[0].payload);
    REQUIRE(b.readings_size() == 1);
    CHECK(b.readings(0).receive_time_ns() == 100 + step);
    CHECK(s.stats().damaged_parts == 1);
    CHECK(s.stats().dropped_readings == 1);
}
