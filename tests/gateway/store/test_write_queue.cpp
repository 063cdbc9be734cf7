// The store's writes waiting in memory (gateway/store/write_queue.hpp), on a fake clock: which
// writes a commit takes, what is handed out from memory, what an acknowledgement forgets and what a
// full memory drops. No SQLite: the store's tests cover the rows.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "gateway/store/write_queue.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {
using Time = WriteQueue::Time;
const Time t0 = Time{} + 1h;
constexpr std::uint64_t roomy = 1u << 20;

// Batch `seq` opened at `at` with header "H<seq>" and parts "p<seq>.<i>" of one reading each, from
// device "d" with sequences from `first_reading` on, `gap` apart.
void batch(WriteQueue& q, std::uint64_t seq, Time at, int parts, bool close, std::chrono::milliseconds gap = 100ms,
           std::uint64_t first_reading = 1) {
    q.open(seq, static_cast<std::int64_t>(seq) * 1000, "H" + std::to_string(seq), at);
    for (int i = 1; i <= parts; ++i)
        q.append(seq, static_cast<std::uint32_t>(i), "p" + std::to_string(seq) + "." + std::to_string(i), 1,
                 {{"d", first_reading + static_cast<std::uint64_t>(i) - 1}}, at + gap * i);
    if (close) q.close(seq, at + gap * (parts + 1));
}

std::vector<std::uint64_t> in_memory(const WriteQueue& q) {
    std::vector<std::uint64_t> out;
    for (const auto& [seq, b] : q.in_memory()) out.push_back(seq);
    return out;
}
}  // namespace

TEST_CASE("write queue: a batch is held whole in memory until a commit writes its header", "[store][write-queue]") {
    WriteQueue q(roomy);
    batch(q, 7, t0, 2, true);
    REQUIRE(q.writes().size() == 4);
    CHECK(q.pending_bytes() == std::string("H7p7.1p7.2").size());
    const WriteQueue::Batch& b = q.in_memory().at(7);
    CHECK(b.payload == "H7p7.1p7.2");
    CHECK(b.readings == 2);
    CHECK(b.closed);
    CHECK(b.created_ns == 7000);
    CHECK(b.devices == WriteQueue::Devices{{"d", 2}});
    CHECK_FALSE(q.partly_written_front());

    WriteQueue::Committed done = q.committed(4);
    CHECK(done.opened == 1);
    CHECK(done.closed == std::deque<std::uint64_t>{7});
    CHECK(q.empty());
    CHECK(q.pending_bytes() == 0);
    CHECK(in_memory(q).empty());
}

TEST_CASE("write queue: which writes are due for a commit", "[store][write-queue]") {
    // Batch 1 at t0: header t0, parts t0+100ms and t0+200ms, close t0+300ms. Batch 2 opened at t0+1s.
    struct Row {
        const char* what;
        std::size_t committed_first;  // writes committed before (batch 1's header: it is partly written)
        Time cut_off;
        std::size_t due;
    };
    const Row rows[] = {
        {"nothing queued before the cut-off", 0, t0, 0},
        {"the header and the first part waited their window", 0, t0 + 150ms, 2},
        {"a write queued at the cut-off is not due yet", 0, t0 + 100ms, 1},
        {"everything, with no cut-off", 0, Time::max(), 7},
        {"the rest of a batch partly written is due at once, whatever its age", 1, t0, 3},
        {"...and the newer batch behind it waits its own window", 1, t0 + 1s, 3},
        {"...until it waited", 1, t0 + 1s + 1ms, 4},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        WriteQueue q(roomy);
        batch(q, 1, t0, 2, true);
        batch(q, 2, t0 + 1s, 2, false);
        q.committed(row.committed_first);
        CHECK(q.chunk(row.cut_off, roomy, 4096).writes == row.due);
        CHECK(q.front_due(row.cut_off) == (row.due > 0));
    }
}

TEST_CASE("write queue: a commit's chunk is bounded by bytes and by writes, and always takes one", "[store][write-queue]") {
    WriteQueue q(roomy);
    q.open(1, 0, std::string(100, 'h'), t0);
    for (std::uint32_t i = 1; i <= 5; ++i) q.append(1, i, std::string(50, 'p'), 1, {}, t0);
    struct Row {
        const char* what;
        std::size_t max_bytes, max_writes, writes, bytes;
    };
    const Row rows[] = {
        {"all of it", 1000, 4096, 6, 350},
        {"up to the byte limit, not past it", 200, 4096, 3, 200},
        {"a first write larger than the limit still goes", 10, 4096, 1, 100},
        {"at most max_writes", 1000, 2, 2, 150},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        WriteQueue::Chunk c = q.chunk(Time::max(), row.max_bytes, row.max_writes);
        CHECK(c.writes == row.writes);
        CHECK(c.bytes == row.bytes);
    }
}

TEST_CASE("write queue: an acknowledgement forgets a batch wholly in memory, and the rest of one partly written",
          "[store][write-queue]") {
    WriteQueue q(roomy);
    batch(q, 1, t0, 2, true);
    batch(q, 2, t0 + 1s, 1, true);
    std::uint64_t before = q.pending_bytes();
    CHECK(q.remove(2));  // never written: nothing for the disk to delete
    CHECK(in_memory(q) == std::vector<std::uint64_t>{1});
    CHECK(q.writes().size() == 4);
    CHECK(q.pending_bytes() == before - std::string("H2p2.1").size());
    CHECK(q.oldest_queued() == t0);

    q.committed(2);  // batch 1's header and first part are on disk
    CHECK(q.partly_written_front() == 1u);
    CHECK_FALSE(q.remove(1));  // its rows are the caller's to delete
    CHECK(q.empty());
    CHECK(q.pending_bytes() == 0);
    CHECK_FALSE(q.oldest_queued());
}

TEST_CASE("write queue: the rest of a batch partly written, to hand out while the disk refuses it", "[store][write-queue]") {
    WriteQueue q(roomy);
    batch(q, 3, t0, 3, false, 100ms, 10);
    q.committed(2);  // header and first part written
    WriteQueue::Rest open_rest = q.rest_of(3);
    CHECK_FALSE(open_rest.closed);
    CHECK(open_rest.payload == "p3.2p3.3");
    CHECK(open_rest.readings == 2);
    CHECK(open_rest.devices == WriteQueue::Devices{{"d", 12}});
    q.close(3, t0 + 1s);
    CHECK(q.rest_of(3).closed);
    CHECK(q.rest_of(4).payload.empty());
}

TEST_CASE("write queue: over max_pending_bytes the oldest parts go, never a header, a close or the newest write",
          "[store][write-queue]") {
    // Header "H1" (2 bytes) and parts of 4 bytes, one reading each: 14 bytes hold the header and three parts.
    WriteQueue q(14);
    q.open(1, 0, "H1", t0);
    std::uint64_t dropped = 0;
    for (std::uint32_t i = 1; i <= 5; ++i) dropped += q.append(1, i, "p1." + std::to_string(i), 1, {{"d", i}}, t0);
    CHECK(dropped == 2);
    CHECK(q.pending_bytes() == 14);
    const WriteQueue::Batch& b = q.in_memory().at(1);
    CHECK(b.payload == "H1p1.3p1.4p1.5");
    CHECK(b.readings == 3);
    CHECK(q.writes().front().kind == WriteQueue::Write::open);

    // A single write larger than the bound stays: it is all there is.
    WriteQueue tiny(1);
    tiny.open(2, 0, "H2", t0);
    CHECK(tiny.append(2, 1, "p2.1", 1, {}, t0) == 0);
    CHECK(tiny.writes().size() == 2);
}

TEST_CASE("write queue: a rewrite changes queued parts in range and the copies in memory", "[store][write-queue]") {
    WriteQueue q(roomy);
    batch(q, 1, t0, 1, true);
    batch(q, 2, t0, 2, true);
    batch(q, 3, t0, 1, true);
    std::uint64_t before = q.pending_bytes();
    q.rewrite(2, 2, [](std::string_view part) -> std::optional<std::string> {
        if (part == "p2.2") return std::nullopt;  // left as it is
        return std::string(part) + "+fixed";
    });
    CHECK(q.in_memory().at(2).payload == "H2p2.1+fixedp2.2");
    CHECK(q.in_memory().at(1).payload == "H1p1.1");
    CHECK(q.in_memory().at(3).payload == "H3p3.1");
    CHECK(q.pending_bytes() == before + 6);
}

TEST_CASE("write queue: what the disk will not take is counted lost", "[store][write-queue]") {
    WriteQueue q(roomy);
    batch(q, 1, t0, 3, true);
    q.committed(1);
    CHECK(q.lose_all() == 3);
    CHECK(q.empty());
    CHECK(q.pending_bytes() == 0);
}
