// A read the disk fails while the store opens is an I/O error, not damage. The store stays where it
// is (moving it aside would take its backlog out of the pipeline), the open either fails naming the
// error or opens (again) with exactly what a clean open sees (no id sequence restarted from a
// default), and the next open finds every batch. Before, quick_check's "unable to get the page"
// had the store moved aside, and a failed read of the last sequence started the ids from the marks.
// While it runs, a failed read is counted (store.read_failures) and changes nothing: the batches
// wait for the next read, and the figures keep their last values. Before, a failed read showed an
// empty store: no oldest batch, and 0 bytes used, which also lifted the size limit.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/store/store.hpp"
#include "one_reading_batch.hpp"
#include "power_cut_vfs.hpp"
#include "tests/temp_dir.hpp"

using namespace loopgate;
using loopgate::testing::PowerCutVfs;

namespace {

const StoreLimits roomy{1ull << 30, 0, 64 << 20};

struct Seen {
    std::uint64_t next_sequence = 0;
    std::uint64_t depth = 0;
    std::map<std::string, std::uint64_t> device_sequences;
    bool operator==(const Seen&) const = default;
};

Seen seen(Store& store) { return {store.next_sequence(), store.stats().depth, store.device_sequences()}; }

std::vector<std::string> set_aside(const std::string& directory) {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(directory))
        if (entry.path().filename().string().find(".corrupt-") != std::string::npos) out.push_back(entry.path());
    return out;
}

}  // namespace

TEST_CASE("store: a read the disk fails while opening never moves the store aside nor restarts its ids",
          "[store][power-cut-vfs]") {
    testing::TempDir dir{"store-read-error", testing::Medium::memory};
    PowerCutVfs vfs;
    const std::string path = dir.file("test.db");
    const StoreOptions options{vfs.name(), nullptr};
    {
        Store store(path, roomy, options);
        testing::add_one_reading_batch(store, "pump1");
        testing::add_one_reading_batch(store, "pump2");
        testing::add_one_reading_batch(store, "pump1");
    }
    Seen clean;
    std::uint64_t reads_at_open = 0;
    {
        std::uint64_t before = vfs.reads();
        Store store(path, roomy, options);
        reads_at_open = vfs.reads() - before;
        clean = seen(store);
    }
    REQUIRE(clean.depth == 3);
    REQUIRE(clean.device_sequences.size() == 2);
    REQUIRE(reads_at_open > 0);

    int failed_opens = 0, opened_again = 0;
    for (std::uint64_t n = 1; n <= reads_at_open; ++n) {
        INFO("the open's read " << n << " of " << reads_at_open << " fails");
        vfs.fail_read(n);
        std::uint64_t before = vfs.reads();
        try {
            Store store(path, roomy, options);
            CHECK(seen(store) == clean);
        } catch (const std::exception& e) {
            ++failed_opens;
            INFO(e.what());
            CHECK(std::string(e.what()).find("I/O") != std::string::npos);
        }
        if (vfs.reads() - before > reads_at_open) ++opened_again;
        vfs.fail_read(0);
        CHECK(set_aside(dir.path.string()).empty());
        Store again(path, roomy, options);
        CHECK(seen(again) == clean);
        CHECK(again.stats().recoveries == 0);
    }
    // The failed reads reached the store (it failed or opened again), not only SQLite's own retries.
    CHECK(failed_opens + opened_again > 0);
}

namespace {

// Another connection writes what the rows already hold and checkpoints it into the database file:
// the store's connection then reads its pages from that file again, not from its cache, as it does
// after any change it did not make or under memory pressure. (The VFS fails reads of the database
// file, not of the log.)
void touch_from_outside(const std::string& path, const std::string& vfs) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, vfs.c_str()) == SQLITE_OK);
    int rc = sqlite3_exec(db, "UPDATE batches SET readings = readings; PRAGMA wal_checkpoint(TRUNCATE)", nullptr,
                          nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

// What a running store is asked, and what it answered when every read worked.
struct Answers {
    std::optional<std::int64_t> oldest;
    std::vector<std::uint64_t> handed_out;
    std::uint64_t depth = 0;
    std::uint64_t used_bytes = 0;
};

}  // namespace

TEST_CASE("store: a read the disk fails while running is counted, and neither loses a batch nor shows an empty store",
          "[store][power-cut-vfs]") {
    testing::TempDir dir{"store-runtime-read-error", testing::Medium::memory};
    PowerCutVfs vfs;
    const std::string path = dir.file("test.db");
    const StoreOptions options{vfs.name(), nullptr};
    Store store(path, roomy, options);  // limits the batches are well inside: enforce_limits reads, drops nothing
    for (int i = 0; i < 3; ++i) testing::add_one_reading_batch(store, "pump1");

    Answers answers;
    // Each step as its caller makes it. A failed read_after throws to the bridge, which logs it and
    // reads again at its next pump.
    struct Step {
        const char* what;
        std::function<void(Answers&)> ask;
    };
    const std::vector<Step> steps = {
        {"the status page asks for the oldest batch", [&](Answers& a) { a.oldest = store.oldest_created_ns(); }},
        {"the limits are checked (the pages in use, the oldest batches)",
         [&](Answers&) { store.enforce_limits(1, true); }},
        {"the bridge reads the backlog",
         [&](Answers& a) {
             a.handed_out.clear();
             try {
                 for (const StoredBatch& b : store.read_after(0, 100)) a.handed_out.push_back(b.sequence);
             } catch (const std::exception&) {
             }
         }},
    };
    for (const Step& step : steps) {
        touch_from_outside(path, vfs.name());
        std::uint64_t before = vfs.reads();
        step.ask(answers);
        INFO(step.what << " (" << vfs.reads() - before << " reads)");
        CHECK(vfs.reads() > before);  // from the disk, not the cache
    }
    answers.depth = store.stats().depth;
    answers.used_bytes = store.stats().used_bytes;
    const Answers clean = answers;
    REQUIRE(clean.oldest);
    REQUIRE(clean.handed_out == std::vector<std::uint64_t>{1, 2, 3});
    REQUIRE(clean.depth == 3);
    REQUIRE(clean.used_bytes > 0);
    REQUIRE(store.stats().read_failures == 0);

    for (const Step& step : steps) {
        for (std::uint64_t n = 1;; ++n) {
            touch_from_outside(path, vfs.name());
            const std::uint64_t failures_before = store.stats().read_failures, reads_before = vfs.reads();
            Answers seen = clean;
            vfs.fail_read(n);
            step.ask(seen);
            vfs.fail_read(0);
            if (vfs.reads() - reads_before < n) break;  // the step read less than n times: every read has failed once
            INFO(step.what << ", its read " << n << " failing");
            CHECK(store.stats().read_failures == failures_before + 1);
            // The figures are what they were, not those of an empty store; a failed read_after hands
            // out nothing (never a backlog with a gap); nothing was dropped.
            CHECK(seen.oldest == clean.oldest);
            CHECK(store.stats().depth == clean.depth);
            CHECK(store.stats().used_bytes == clean.used_bytes);
            CHECK((seen.handed_out.empty() || seen.handed_out == clean.handed_out));
            CHECK(store.stats().dropped_batches == 0);
        }
    }
    Answers after = clean;
    for (const Step& step : steps) step.ask(after);
    CHECK(after.oldest == clean.oldest);
    CHECK(after.handed_out == clean.handed_out);
    CHECK(store.stats().read_failures > 0);
}
