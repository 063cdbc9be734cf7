#pragma once
// Makes the store's write-ahead log durable off the event loop.
//
// The store commits under synchronous=NORMAL (a commit is a write() into the page cache), and this
// thread then fdatasync()s the WAL, so the event loop keeps reading serial lines while the disk
// works: one sync covers every commit made while the previous one ran (group commit). A batch is
// published only once the sync that covers it has finished (Store::read_after), so batch ids and
// device sequences that reach the broker are never reused after a power cut.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace loopgate {

class WalSyncer {
public:
    // Makes the file at the path durable; returns 0 or an errno. Tests put a crash-simulating or
    // failing one in place of fdatasync.
    using SyncFunction = std::function<int(const std::string& path)>;

    // `done(ticket, error)` runs on the syncer's thread after every write made before request(ticket)
    // is on disk (error 0) or the sync failed (an errno). Requesting a ticket again after its sync
    // failed tries again. Without `sync`, the WAL is fdatasync()ed (and its directory fsync()ed once).
    WalSyncer(std::string wal_path, std::function<void(std::uint64_t ticket, int error)> done,
              SyncFunction sync = nullptr);
    ~WalSyncer();  // finishes the requested syncs, then joins
    WalSyncer(const WalSyncer&) = delete;
    WalSyncer& operator=(const WalSyncer&) = delete;

    void request(std::uint64_t ticket);
    // Syncs now on the calling thread; returns 0 or an errno.
    int sync_now();

private:
    void run();
    int sync_file();

    std::string wal_path_;
    std::function<void(std::uint64_t, int)> done_;
    SyncFunction sync_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t requested_ = 0;
    std::uint64_t attempted_ = 0;
    std::uint64_t synced_ = 0;  // the last ticket whose sync succeeded
    bool stopping_ = false;
    std::mutex file_mutex_;
    int fd_ = -1;
    std::thread thread_;
};

}  // namespace loopgate
