// The store keeps batches until acknowledged, hands them out oldest first, and survives reopening.

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

#include "gateway/store.hpp"

using namespace loopgate;

namespace {
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/loopgate-store-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string db() const { return (path / "store.db").string(); }
};
}  // namespace

TEST_CASE("batches come out oldest first and leave only when acknowledged", "[store]") {
    TempDir dir;
    Store s(dir.db(), 1 << 30);
    for (int i = 0; i < 5; ++i) s.append(s.next_sequence(), 100 + i, "batch" + std::to_string(i), {{"d", i + 1}});
    CHECK(s.depth() == 5);
    auto first = s.read_after(0, 3);
    REQUIRE(first.size() == 3);
    CHECK(first[0].payload == "batch0");
    CHECK(first[2].payload == "batch2");
    CHECK(s.read_after(first.back().sequence, 10).front().payload == "batch3");
    s.remove(first[1].sequence);
    s.remove(first[0].sequence);
    s.flush_removals();
    CHECK(s.depth() == 3);
    CHECK(s.read_after(0, 1).front().payload == "batch2");
    CHECK(s.oldest_created_ns() == 102);
}

TEST_CASE("reopening keeps unacknowledged batches, device sequences, and never reuses a batch id", "[store]") {
    TempDir dir;
    std::uint64_t last = 0;
    {
        Store s(dir.db(), 1 << 30);
        s.append(s.next_sequence(), 1, "a", {{"dev1", 7}, {"dev2", 3}});
        s.append(s.next_sequence(), 2, "b", {{"dev1", 9}});
        last = s.next_sequence() - 1;
        s.remove(last);
        s.remove(last - 1);
        s.flush_removals();
        s.append(s.next_sequence(), 3, "c", {});
        last = s.next_sequence() - 1;
    }
    Store s(dir.db(), 1 << 30);
    CHECK(s.depth() == 1);
    CHECK(s.read_after(0, 10).front().payload == "c");
    CHECK(s.next_sequence() == last + 1);
    auto seqs = s.device_sequences();
    CHECK(seqs.at("dev1") == 9);
    CHECK(seqs.at("dev2") == 3);
}

TEST_CASE("an emptied store still never reuses a batch id after reopening", "[store]") {
    TempDir dir;
    std::uint64_t used = 0;
    {
        Store s(dir.db(), 1 << 30);
        used = s.next_sequence();
        s.append(used, 1, "a", {});
        s.remove(used);
        s.flush_removals();
        CHECK(s.depth() == 0);
    }
    Store s(dir.db(), 1 << 30);
    CHECK(s.next_sequence() == used + 1);
}

TEST_CASE("over the size limit the oldest batches are dropped and counted", "[store]") {
    TempDir dir;
    Store s(dir.db(), 10'000);
    for (int i = 0; i < 30; ++i) s.append(s.next_sequence(), i, std::string(1000, static_cast<char>('a' + i % 26)), {});
    CHECK(s.bytes() <= 10'000);
    CHECK(s.dropped_batches() == 20);
    CHECK(s.read_after(0, 1).front().created_ns == 20);
}

TEST_CASE("a store path that cannot be opened is a clear error", "[store]") {
    CHECK_THROWS_WITH(Store("/nonexistent/dir/store.db", 1 << 20), Catch::Contains("/nonexistent/dir/store.db"));
}
