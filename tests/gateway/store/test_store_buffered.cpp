// store.durability: buffered. What the broker acknowledges while it is still in memory is never
// written; writes wait for their cut-off and then go in order; a batch partly written goes out
// before newer ones; a clean close records the exact ids, and a run that did not close cleanly
// makes the next one continue above the id marks.

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "gateway/store/batch_payload.hpp"
#include "gateway/store/store.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {

const StoreLimits roomy{1ull << 30, 0, 64 << 20};

Reading reading(std::uint64_t seq) {
    Reading r;
    r.device = "d";
    r.metric = "m";
    r.value = static_cast<double>(seq);
    r.sequence = seq;
    return r;
}

void add_part(Store& s, std::uint64_t batch, std::uint64_t reading_seq) {
    std::vector<Reading> one{reading(reading_seq)};
    s.append(batch, encode_readings(one), 1, {{"d", reading_seq}});
}

std::uint64_t open_batch(Store& s) {
    std::uint64_t seq = s.next_sequence();
    s.open_batch(seq, 1, encode_batch_header("gw", seq, 1));
    return seq;
}

// A closed batch of readings first..first+n-1, queued and not committed.
std::uint64_t queue_batch(Store& s, std::uint64_t first, int n) {
    std::uint64_t seq = open_batch(s);
    for (int i = 0; i < n; ++i) add_part(s, seq, first + static_cast<std::uint64_t>(i));
    s.close_batch(seq);
    return seq;
}

std::vector<std::uint64_t> sequences(const std::vector<StoredBatch>& batches) {
    std::vector<std::uint64_t> out;
    for (const auto& b : batches) out.push_back(b.sequence);
    return out;
}

int rows(const std::string& db, const char* table) {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    std::string sql = std::string("SELECT count(*) FROM ") + table;
    REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
}

}  // namespace

TEST_CASE("buffered: a batch acknowledged while still in memory is handed out and never written", "[store][buffered]") {
    testing::TempDir dir{"buffered"};
    {
        Store s(dir.file("store.db"), roomy);
        s.buffer_unacknowledged(1000ms);
        std::uint64_t seq = queue_batch(s, 1, 3);
        auto out = s.read_after(0, 10);
        REQUIRE(sequences(out) == std::vector<std::uint64_t>{seq});
        v1::Batch b;
        REQUIRE(b.ParseFromString(out[0].payload));
        CHECK(b.batch_sequence() == seq);
        CHECK(b.readings_size() == 3);
        CHECK(out[0].readings == 3);

        s.remove(seq);
        CHECK_FALSE(s.has_uncommitted());
        CHECK(s.stats().unwritten_batches == 1);
        CHECK(s.stats().pending_bytes == 0);
        REQUIRE(s.commit());
        CHECK(s.read_after(0, 10).empty());
    }
    CHECK(rows(dir.file("store.db"), "batches") == 0);
    CHECK(rows(dir.file("store.db"), "parts") == 0);
}

TEST_CASE("buffered: writes wait for their cut-off, and a batch partly written goes out before newer ones",
          "[store][buffered]") {
    testing::TempDir dir{"buffered"};
    Store s(dir.file("store.db"), roomy);
    s.buffer_unacknowledged(1000ms);

    std::uint64_t a = queue_batch(s, 1, 2);
    auto cut = Store::Clock::now() + 1ns;
    std::uint64_t b = open_batch(s);
    add_part(s, b, 3);
    while (Store::Clock::now() < cut) {}  // b's writes were queued after the cut-off

    REQUIRE(s.commit(SIZE_MAX, cut));
    CHECK(s.stats().depth == 1);  // a written; b, open, still only in memory
    CHECK(sequences(s.read_after(0, 10)) == std::vector<std::uint64_t>{a});

    // b's first writes reach the disk while it is open; the rest of it is queued after.
    REQUIRE(s.commit(SIZE_MAX, Store::Clock::now() + 1ns));
    add_part(s, b, 4);
    s.close_batch(b);
    std::uint64_t c = queue_batch(s, 5, 1);
    CHECK(sequences(s.read_after(0, 10)) == std::vector<std::uint64_t>{a});  // c waits behind b
    REQUIRE(s.next_due());
    auto due = *s.next_due();
    // b's rest waits its window like any write (during an outage, one commit per window, not one per
    // part appended to the open batch)...
    CHECK(due > Store::Clock::now() + 500ms);
    // ...and goes with the next commit that happens anyway.
    CHECK(s.has_due(Store::Clock::time_point::min()));

    REQUIRE(s.commit(SIZE_MAX, Store::Clock::time_point::min()));  // only what is due: b, not c
    auto out = s.read_after(0, 10);
    REQUIRE(sequences(out) == std::vector<std::uint64_t>{a, b, c});
    v1::Batch whole;
    REQUIRE(whole.ParseFromString(out[1].payload));
    CHECK(whole.readings_size() == 2);
    CHECK(s.stats().depth == 2);  // c was never written
    s.remove(c);
    CHECK(s.stats().unwritten_batches == 1);
}

TEST_CASE("buffered: a clean close continues the ids exactly, and a run that did not close continues above the marks",
          "[store][buffered]") {
    testing::TempDir dir{"buffered"};
    const std::string path = dir.file("store.db");
    std::uint64_t last = 0;
    {
        Store s(path, roomy);
        s.buffer_unacknowledged(1000ms);
        last = queue_batch(s, 1, 3);
        s.remove(last);  // acknowledged: nothing of it is written
    }
    {
        Store s(path, roomy);
        CHECK(s.next_sequence() == last + 1);
        CHECK(s.device_sequences()["d"] == 3);
    }

    // A run that ends without closing the store (kill -9, power cut) after handing out more ids.
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        Store s(path, roomy);
        s.buffer_unacknowledged(1000ms);
        std::uint64_t seq = queue_batch(s, 4, 7);  // readings 4..10
        s.remove(seq);
        ::_exit(seq == last + 1 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    Store s(path, roomy);
    CHECK(s.next_sequence() > last + 1);       // batch last + 1 may have reached the broker
    CHECK(s.device_sequences()["d"] >= 10);    // and so may readings 4..10
    CHECK(s.device_sequences()["d"] > 10);     // the gap says readings may be lost there
}
