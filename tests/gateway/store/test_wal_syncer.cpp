// The WAL syncer reports every requested ticket once its sync is done, covers everything requested
// meanwhile with one sync, and tries a failed sync again when it is asked again.

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <unistd.h>
#include <utility>
#include <vector>

#include "gateway/store/wal_syncer.hpp"

using namespace loopgate;

namespace {

struct Reports {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::pair<std::uint64_t, int>> seen;
    void add(std::uint64_t ticket, int error) {
        std::lock_guard<std::mutex> lock(m);
        seen.emplace_back(ticket, error);
        cv.notify_all();
    }
    // Waits (bounded) until `n` reports arrived, and returns the n-th.
    std::pair<std::uint64_t, int> nth(std::size_t n) {
        std::unique_lock<std::mutex> lock(m);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= n; }));
        return seen[n - 1];
    }
};

}  // namespace

TEST_CASE("a requested sync is reported, and a newer request after it gets a sync of its own", "[store][sync]") {
    char path[] = "/tmp/loopgate-wal-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "frames", 6) == 6);
    Reports reports;
    {
        WalSyncer syncer(path, [&](std::uint64_t t, int e) { reports.add(t, e); });
        syncer.request(1);
        CHECK(reports.nth(1) == std::make_pair<std::uint64_t, int>(1, 0));
        syncer.request(1);  // already durable: nothing to do
        syncer.request(2);
        CHECK(reports.nth(2) == std::make_pair<std::uint64_t, int>(2, 0));
        CHECK(syncer.sync_now() == 0);
    }
    CHECK(reports.seen.size() == 2);
    ::close(fd);
    std::remove(path);
}

TEST_CASE("a failed sync is reported with its errno and tried again when asked again", "[store][sync]") {
    // A disk that refuses every sync (injected: no real file fails the same way on every kernel and
    // under qemu-user, which emulates parts of procfs).
    Reports reports;
    int attempts = 0;
    WalSyncer syncer(
        "/tmp/loopgate-wal-refused", [&](std::uint64_t t, int e) { reports.add(t, e); },
        [&](const std::string&) {
            ++attempts;
            return EIO;
        });
    syncer.request(1);
    CHECK(reports.nth(1) == std::make_pair<std::uint64_t, int>(1, EIO));
    syncer.request(1);
    CHECK(reports.nth(2) == std::make_pair<std::uint64_t, int>(1, EIO));
    CHECK(syncer.sync_now() == EIO);
    CHECK(attempts == 3);
}

TEST_CASE("a WAL that does not exist yet needs no sync", "[store][sync]") {
    Reports reports;
    WalSyncer syncer("/nonexistent/store.db-wal", [&](std::uint64_t t, int e) { reports.add(t, e); });
    syncer.request(1);
    CHECK(reports.nth(1) == std::make_pair<std::uint64_t, int>(1, 0));
}
