#include "gateway/store/wal_syncer.hpp"

#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

namespace loopgate {

WalSyncer::WalSyncer(std::string wal_path, std::function<void(std::uint64_t, int)> done, SyncFunction sync)
    : wal_path_(std::move(wal_path)),
      done_(std::move(done)),
      sync_(std::move(sync)),
      thread_([this] { run(); }) {}

WalSyncer::~WalSyncer() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

void WalSyncer::request(std::uint64_t ticket) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ticket <= synced_) return;
        requested_ = std::max(requested_, ticket);
        if (attempted_ >= ticket) attempted_ = synced_;  // that attempt failed: try again
    }
    wake_.notify_one();
}

int WalSyncer::sync_now() { return sync_file(); }

void WalSyncer::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
        wake_.wait(lock, [&] { return stopping_ || requested_ > attempted_; });
        if (requested_ <= attempted_) return;  // stopping, and nothing left to sync
        std::uint64_t ticket = requested_;
        attempted_ = ticket;
        lock.unlock();
        int error = sync_file();
        lock.lock();
        if (error == 0) synced_ = std::max(synced_, ticket);
        lock.unlock();
        done_(ticket, error);
        lock.lock();
    }
}

int WalSyncer::sync_file() {
    std::lock_guard<std::mutex> lock(file_mutex_);
    if (sync_) return sync_(wal_path_);
    // SQLite removes the WAL only when the last connection closes, and the store keeps one open; a
    // file that has gone anyway (nlink 0) is reopened, as is one that did not exist yet.
    struct stat st {};
    if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || st.st_nlink == 0)) {
        ::close(fd_);
        fd_ = -1;
    }
    if (fd_ < 0) {
        fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return errno == ENOENT ? 0 : errno;  // no WAL: nothing was written yet
        // A new WAL's directory entry must be durable too (SQLite's own FULL mode syncs it).
        sync_directory_of(wal_path_);
    }
    return ::fdatasync(fd_) == 0 ? 0 : errno;
}

}  // namespace loopgate
