// A read the disk fails while the store opens is an I/O error, not damage. The store stays where it
// is (moving it aside would take its backlog out of the pipeline), the open either fails naming the
// error or opens (again) with exactly what a clean open sees (no id sequence restarted from a
// default), and the next open finds every batch. Before, quick_check's "unable to get the page"
// had the store moved aside, and a failed read of the last sequence started the ids from the marks.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
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
