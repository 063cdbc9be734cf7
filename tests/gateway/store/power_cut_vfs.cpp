#include "power_cut_vfs.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace loopgate::testing {

namespace {

constexpr std::int64_t sector_size = 512;

// A write or truncation made since the file's last sync.
struct Change {
    bool truncate = false;
    std::int64_t offset = 0;  // a truncation: the new size
    std::string bytes;
};

// A file's content on the disk. Its own object, not its name's: a name deleted without a directory
// sync comes back after a cut with the content it had.
struct Inode {
    std::string durable;
    std::vector<Change> unsynced;
};

void apply_change(std::string& content, const Change& change) {
    auto offset = static_cast<std::size_t>(change.offset);
    if (change.truncate) {
        content.resize(offset);
        return;
    }
    if (content.size() < offset + change.bytes.size()) content.resize(offset + change.bytes.size());
    content.replace(offset, change.bytes.size(), change.bytes);
}

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_whole(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("power-cut VFS: cannot rewrite " + path + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("power-cut VFS: cannot rewrite " + path + ": " + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

std::string directory_of(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

std::atomic<int> instances{0};

}  // namespace

struct PowerCutVfs::Impl {
    sqlite3_vfs vfs{};
    sqlite3_vfs* real = nullptr;
    std::string name;

    std::mutex mutex;  // the syncer thread syncs while the store's thread writes
    std::map<std::string, std::shared_ptr<Inode>> live;     // what each name refers to now
    std::map<std::string, std::shared_ptr<Inode>> durable;  // ...as far as its directory was synced
    std::map<std::string, std::shared_ptr<Inode>> directory_synced_by_sync_file;
    std::set<std::string> created_while_cut;  // by a process that is dead already; removed on restore
    bool cut = false;
    std::uint64_t io_calls = 0;
    std::uint64_t cut_at = UINT64_MAX;
    std::uint64_t reads = 0;
    std::uint64_t failing_read = 0;  // the number of the read that fails; 0: none
    // SQLite's wal-index (-shm) as it was at the cut, by name; empty content: there was none. The
    // process keeps running after a modelled kill and keeps updating the mapped index, which a
    // killed process cannot: resume_after_process_crash() puts back what the kill left.
    std::map<std::string, std::optional<std::string>> index_at_cut;

    void freeze() {
        cut = true;
        index_at_cut.clear();
        for (const auto& [path, inode] : live) {
            std::string shm = path + "-shm";
            std::ifstream in(shm, std::ios::binary);
            if (in) index_at_cut[shm] = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
            else index_at_cut[shm] = std::nullopt;
        }
    }

    // With the mutex held, before a mutating call: false when the power is off (or goes off now,
    // in which case this call is the one that never happened).
    bool power_on() {
        if (cut) return false;
        if (++io_calls >= cut_at) freeze();
        return !cut;
    }

    static void sync_inode(Inode& inode) {
        for (const Change& c : inode.unsynced) apply_change(inode.durable, c);
        inode.unsynced.clear();
    }

    // fsync() of a directory: every name in it is durable as it is now.
    void sync_directory(const std::string& directory) {
        std::set<std::string> names;
        for (const auto& [path, inode] : live) names.insert(path);
        for (const auto& [path, inode] : durable) names.insert(path);
        for (const std::string& path : names) {
            if (directory_of(path) != directory) continue;
            auto now = live.find(path);
            if (now == live.end()) durable.erase(path);
            else durable[path] = now->second;
        }
    }

    void forget_everything() {
        live.clear();
        durable.clear();
        directory_synced_by_sync_file.clear();
        created_while_cut.clear();
        index_at_cut.clear();
        cut = false;
        io_calls = 0;
        cut_at = UINT64_MAX;
    }
};

namespace {

using Impl = PowerCutVfs::Impl;

// What the VFS knows about an open file.
struct FileState {
    Impl* vfs = nullptr;
    std::string path;
    std::shared_ptr<Inode> inode;  // null for a temporary file, which no cut needs
    bool sync_directory_on_first_sync = false;  // as "unix" does for a new journal or WAL
};

// SQLite allocates vfs.szOsFile bytes per open file: this header (standard layout, so SQLite's
// sqlite3_file* is a File*), then the "unix" VFS's own file.
struct File {
    sqlite3_file base;
    FileState* state;

    static constexpr std::size_t real_offset() { return (sizeof(File) + 15) & ~std::size_t{15}; }
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(this) + real_offset()); }
};
static_assert(std::is_standard_layout_v<File>);

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
Impl* as_impl(sqlite3_vfs* v) { return static_cast<Impl*>(v->pAppData); }

int file_close(sqlite3_file* f) {
    File* file = as_file(f);
    sqlite3_file* real = file->real();
    int rc = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
    delete file->state;
    file->state = nullptr;
    return rc;
}

int file_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
    File* file = as_file(f);
    if (file->state) {
        std::lock_guard<std::mutex> lock(file->state->vfs->mutex);
        if (++file->state->vfs->reads == file->state->vfs->failing_read) return SQLITE_IOERR_READ;
    }
    sqlite3_file* real = file->real();
    return real->pMethods->xRead(real, buffer, amount, offset);
}

int file_write(sqlite3_file* f, const void* buffer, int amount, sqlite3_int64 offset) {
    File* file = as_file(f);
    FileState& state = *file->state;
    sqlite3_file* real = file->real();
    if (!state.inode) return real->pMethods->xWrite(real, buffer, amount, offset);
    std::lock_guard<std::mutex> lock(state.vfs->mutex);
    if (!state.vfs->power_on()) return SQLITE_OK;  // nobody can tell any more: it "worked"
    int rc = real->pMethods->xWrite(real, buffer, amount, offset);
    if (rc == SQLITE_OK)
        state.inode->unsynced.push_back(
            Change{false, offset, std::string(static_cast<const char*>(buffer), static_cast<std::size_t>(amount))});
    return rc;
}

int file_truncate(sqlite3_file* f, sqlite3_int64 size) {
    File* file = as_file(f);
    FileState& state = *file->state;
    sqlite3_file* real = file->real();
    if (!state.inode) return real->pMethods->xTruncate(real, size);
    std::lock_guard<std::mutex> lock(state.vfs->mutex);
    if (!state.vfs->power_on()) return SQLITE_OK;
    int rc = real->pMethods->xTruncate(real, size);
    if (rc == SQLITE_OK) state.inode->unsynced.push_back(Change{true, size, {}});
    return rc;
}

int file_sync(sqlite3_file* f, int) {
    FileState& state = *as_file(f)->state;
    if (!state.inode) return SQLITE_OK;
    std::lock_guard<std::mutex> lock(state.vfs->mutex);
    // Failing, not pretending: a commit must never be told it is durable when it is not.
    if (!state.vfs->power_on()) return SQLITE_IOERR_FSYNC;
    Impl::sync_inode(*state.inode);
    if (state.sync_directory_on_first_sync) {
        state.vfs->sync_directory(directory_of(state.path));
        state.sync_directory_on_first_sync = false;
    }
    return SQLITE_OK;
}

int file_size(sqlite3_file* f, sqlite3_int64* size) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xFileSize(real, size);
}

int file_lock(sqlite3_file* f, int level) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xLock(real, level);
}

int file_unlock(sqlite3_file* f, int level) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xUnlock(real, level);
}

int file_check_reserved_lock(sqlite3_file* f, int* out) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xCheckReservedLock(real, out);
}

int file_control(sqlite3_file* f, int op, void* arg) {
    // Both would let "unix" grow or map the file behind the model's back; both are only hints.
    if (op == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
    if (op == SQLITE_FCNTL_MMAP_SIZE) return SQLITE_NOTFOUND;
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xFileControl(real, op, arg);
}

int file_sector_size(sqlite3_file* f) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xSectorSize(real);
}

int file_device_characteristics(sqlite3_file* f) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xDeviceCharacteristics(real);
}

// The WAL index in shared memory is not a file the disk keeps: "unix" maps it, and a cut loses it.
int file_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xShmMap(real, region, size, extend, out);
}

int file_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xShmLock(real, offset, n, flags);
}

void file_shm_barrier(sqlite3_file* f) {
    sqlite3_file* real = as_file(f)->real();
    real->pMethods->xShmBarrier(real);
}

int file_shm_unmap(sqlite3_file* f, int delete_flag) {
    sqlite3_file* real = as_file(f)->real();
    return real->pMethods->xShmUnmap(real, delete_flag);
}

// No memory-mapped reads: SQLite falls back to xRead, so every byte it sees passed the model.
int file_fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
    *out = nullptr;
    return SQLITE_OK;
}

int file_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods file_methods = {
    3,
    file_close,
    file_read,
    file_write,
    file_truncate,
    file_sync,
    file_size,
    file_lock,
    file_unlock,
    file_check_reserved_lock,
    file_control,
    file_sector_size,
    file_device_characteristics,
    file_shm_map,
    file_shm_lock,
    file_shm_barrier,
    file_shm_unmap,
    file_fetch,
    file_unfetch,
};

int vfs_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    Impl* vfs = as_impl(v);
    File* file = as_file(f);
    file->base.pMethods = nullptr;
    auto state = std::make_unique<FileState>();
    state->vfs = vfs;
    bool existed = false;
    if (name) {
        state->path = name;
        existed = ::access(name, F_OK) == 0;
    }
    int rc = vfs->real->xOpen(vfs->real, name, file->real(), flags, out_flags);
    if (rc != SQLITE_OK) return rc;
    if (name && !(flags & SQLITE_OPEN_DELETEONCLOSE)) {
        std::lock_guard<std::mutex> lock(vfs->mutex);
        if (vfs->cut && !existed) {
            vfs->created_while_cut.insert(state->path);  // untracked: it goes on restore
        } else {
            std::shared_ptr<Inode>& inode = vfs->live[state->path];
            if (!existed) {
                inode = std::make_shared<Inode>();
                state->sync_directory_on_first_sync =
                    (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL | SQLITE_OPEN_SUPER_JOURNAL)) != 0;
            } else if (!inode) {
                // There before the model knew it (a fresh start, or the state a restore left):
                // durable as it is.
                inode = std::make_shared<Inode>(Inode{read_whole(state->path), {}});
                vfs->durable[state->path] = inode;
            }
            state->inode = inode;
        }
    }
    file->state = state.release();
    f->pMethods = &file_methods;
    return SQLITE_OK;
}

int vfs_delete(sqlite3_vfs* v, const char* name, int sync_directory) {
    Impl* vfs = as_impl(v);
    std::lock_guard<std::mutex> lock(vfs->mutex);
    if (!vfs->power_on()) return SQLITE_OK;
    int rc = vfs->real->xDelete(vfs->real, name, 0);  // the model syncs the directory, not the disk
    if (rc == SQLITE_OK) {
        vfs->live.erase(name);
        if (sync_directory) vfs->sync_directory(directory_of(name));
    }
    return rc;
}

int vfs_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xAccess(real, name, flags, out);
}

int vfs_full_pathname(sqlite3_vfs* v, const char* name, int size, char* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xFullPathname(real, name, size, out);
}

void* vfs_dl_open(sqlite3_vfs* v, const char* name) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xDlOpen(real, name);
}

void vfs_dl_error(sqlite3_vfs* v, int size, char* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    real->xDlError(real, size, out);
}

void (*vfs_dl_sym(sqlite3_vfs* v, void* handle, const char* symbol))(void) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xDlSym(real, handle, symbol);
}

void vfs_dl_close(sqlite3_vfs* v, void* handle) {
    sqlite3_vfs* real = as_impl(v)->real;
    real->xDlClose(real, handle);
}

int vfs_randomness(sqlite3_vfs* v, int size, char* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xRandomness(real, size, out);
}

int vfs_sleep(sqlite3_vfs* v, int microseconds) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xSleep(real, microseconds);
}

int vfs_current_time(sqlite3_vfs* v, double* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xCurrentTime(real, out);
}

int vfs_get_last_error(sqlite3_vfs* v, int size, char* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xGetLastError(real, size, out);
}

int vfs_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xCurrentTimeInt64(real, out);
}

int vfs_set_system_call(sqlite3_vfs* v, const char* name, sqlite3_syscall_ptr call) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xSetSystemCall(real, name, call);
}

sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs* v, const char* name) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xGetSystemCall(real, name);
}

const char* vfs_next_system_call(sqlite3_vfs* v, const char* name) {
    sqlite3_vfs* real = as_impl(v)->real;
    return real->xNextSystemCall(real, name);
}

}  // namespace

PowerCutVfs::PowerCutVfs() : impl_(std::make_unique<Impl>()) {
    impl_->real = sqlite3_vfs_find("unix");
    if (!impl_->real || impl_->real->iVersion < 3)
        throw std::runtime_error("power-cut VFS: SQLite has no \"unix\" VFS of version 3 to wrap");
    impl_->name = "loopgate-power-cut-" + std::to_string(++instances);
    sqlite3_vfs& v = impl_->vfs;
    v.iVersion = 3;
    v.szOsFile = static_cast<int>(File::real_offset()) + impl_->real->szOsFile;
    v.mxPathname = impl_->real->mxPathname;
    v.zName = impl_->name.c_str();
    v.pAppData = impl_.get();
    v.xOpen = vfs_open;
    v.xDelete = vfs_delete;
    v.xAccess = vfs_access;
    v.xFullPathname = vfs_full_pathname;
    v.xDlOpen = vfs_dl_open;
    v.xDlError = vfs_dl_error;
    v.xDlSym = vfs_dl_sym;
    v.xDlClose = vfs_dl_close;
    v.xRandomness = vfs_randomness;
    v.xSleep = vfs_sleep;
    v.xCurrentTime = vfs_current_time;
    v.xGetLastError = vfs_get_last_error;
    v.xCurrentTimeInt64 = vfs_current_time_int64;
    v.xSetSystemCall = vfs_set_system_call;
    v.xGetSystemCall = vfs_get_system_call;
    v.xNextSystemCall = vfs_next_system_call;
    if (int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK)
        throw std::runtime_error("power-cut VFS: cannot register: " + std::string(sqlite3_errstr(rc)));
}

PowerCutVfs::~PowerCutVfs() { sqlite3_vfs_unregister(&impl_->vfs); }

const std::string& PowerCutVfs::name() const { return impl_->name; }

int PowerCutVfs::sync_file(const std::string& path) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (!impl_->power_on()) return EIO;
    auto it = impl_->live.find(path);
    if (it == impl_->live.end()) return 0;  // as fdatasync of a WAL not created yet: nothing to do
    Impl::sync_inode(*it->second);
    // The WAL syncer fsyncs the directory when it opens a WAL it has not seen (gateway/store/wal_syncer.cpp).
    std::shared_ptr<Inode>& seen = impl_->directory_synced_by_sync_file[path];
    if (seen != it->second) {
        impl_->sync_directory(directory_of(path));
        seen = it->second;
    }
    return 0;
}

void PowerCutVfs::cut_at_io_call(std::uint64_t n) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (n == 0) impl_->freeze();
    else impl_->cut_at = impl_->io_calls + n;
}

void PowerCutVfs::cut_now() { cut_at_io_call(0); }

void PowerCutVfs::fail_read(std::uint64_t n) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->failing_read = n == 0 ? 0 : impl_->reads + n;
}

std::uint64_t PowerCutVfs::reads() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->reads;
}

bool PowerCutVfs::is_cut() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->cut;
}

std::uint64_t PowerCutVfs::io_calls() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->io_calls;
}

void PowerCutVfs::restore_after_power_cut(Loss loss, std::mt19937_64& rng) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    // How much of the unsynced state made it, for this cut: sometimes almost nothing, sometimes
    // almost everything.
    std::bernoulli_distribution kept(std::uniform_real_distribution<double>(0.05, 0.95)(rng));
    std::set<std::string> names(impl_->created_while_cut);
    for (const auto& [path, inode] : impl_->live) names.insert(path);
    for (const auto& [path, inode] : impl_->durable) names.insert(path);
    for (const std::string& path : names) {
        std::shared_ptr<Inode> survivor;
        if (auto d = impl_->durable.find(path); d != impl_->durable.end()) survivor = d->second;
        if (loss == Loss::any_subset) {
            auto l = impl_->live.find(path);
            std::shared_ptr<Inode> now = l == impl_->live.end() ? nullptr : l->second;
            if (now != survivor && kept(rng)) survivor = now;  // the name change reached the disk anyway
        }
        if (!survivor) {
            ::unlink(path.c_str());
            continue;
        }
        std::string content = survivor->durable;
        if (loss == Loss::any_subset) {
            for (const Change& c : survivor->unsynced) {
                if (c.truncate) {
                    if (kept(rng)) apply_change(content, c);
                    continue;
                }
                // Each sector of the write reaches the disk or not, independently of the others.
                std::int64_t end = c.offset + static_cast<std::int64_t>(c.bytes.size());
                for (std::int64_t at = c.offset; at < end;) {
                    std::int64_t next = std::min(end, (at / sector_size + 1) * sector_size);
                    if (kept(rng))
                        apply_change(content, Change{false, at,
                                              c.bytes.substr(static_cast<std::size_t>(at - c.offset),
                                                             static_cast<std::size_t>(next - at))});
                    at = next;
                }
            }
        }
        write_whole(path, content);
    }
    for (const std::string& path : names) ::unlink((path + "-shm").c_str());
    impl_->forget_everything();
}

void PowerCutVfs::resume_after_process_crash() {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (const std::string& path : impl_->created_while_cut)
        if (!impl_->live.count(path)) ::unlink(path.c_str());
    impl_->created_while_cut.clear();
    impl_->directory_synced_by_sync_file.clear();  // a new process, a new WAL syncer
    for (const auto& [shm, content] : impl_->index_at_cut) {
        if (content) write_whole(shm, *content);
        else ::unlink(shm.c_str());
    }
    impl_->index_at_cut.clear();
    impl_->cut = false;
    impl_->cut_at = UINT64_MAX;
}

}  // namespace loopgate::testing
