#pragma once
// A SQLite VFS for crash-consistency tests: it knows what a power cut would leave on the disk.
//
// kill -9 keeps the page cache; a power cut does not. The VFS wraps SQLite's "unix" VFS: every
// write really reaches the file (so the running database behaves normally), and beside it the VFS
// keeps, per file, its durable image (the content as of its last completed sync) and the writes and
// truncations made since. Names are modelled like a directory: a created or deleted file is durable
// only once its directory is synced (SQLite syncs it on the first sync of a new journal or WAL, and
// on a delete asked to; the store's WAL syncer syncs it through sync_file()). A deleted file whose
// deletion is not durable comes back after the cut with its durable content.
//
// A cut freezes the machine: from then on writes, truncations and deletes do nothing and report
// success (the process may still be running its destructors, but nothing it does reaches a disk),
// and syncs fail, so nobody learns of durability that did not happen. After the process is gone,
// restore_after_power_cut() rewrites every file as the disk would have it after the power returns
// and removes the shared-memory index (-shm), which lives in memory and is rebuilt from the WAL.
// SQLite does not sync the real files through this VFS: durability is the model's, not the disk's.
// It can also fail one read, as a disk does with a sector it could not read that time (fail_read).

#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace loopgate::testing {

class PowerCutVfs {
public:
    // What of the writes made since a file's last sync survives a cut.
    enum class Loss {
        all_unsynced,  // nothing: every file is exactly as of its last sync
        any_subset,    // any subset of them, each write torn at 512-byte sectors, each name change kept or not
    };

    // Registers a VFS under a name of its own (not as the default) on top of "unix".
    PowerCutVfs();
    ~PowerCutVfs();  // unregisters; every connection using it must be closed
    PowerCutVfs(const PowerCutVfs&) = delete;
    PowerCutVfs& operator=(const PowerCutVfs&) = delete;

    const std::string& name() const;

    // What fdatasync() of the file plus an fsync() of its directory (when the file is new to the
    // caller) do: the Store's sync_wal. Thread-safe. Returns 0, or EIO once the power is cut.
    int sync_file(const std::string& path);

    // The power goes off at the n-th mutating call from now (write, truncate, sync, delete; counted
    // on every thread), which then does not happen: a cut inside a commit or a checkpoint.
    void cut_at_io_call(std::uint64_t n);
    void cut_now();
    bool is_cut() const;
    std::uint64_t io_calls() const;  // mutating calls since the last restore

    // A disk that once fails to read: the n-th read from now (1 = the next; counted on every file and
    // thread) returns SQLITE_IOERR_READ, and the reads after it work again. 0 disarms it.
    void fail_read(std::uint64_t n);
    std::uint64_t reads() const;  // reads since the VFS was made

    // After every connection is closed: the files as the disk has them when the power returns.
    // `rng` picks what survives under Loss::any_subset. The VFS then works again, every file
    // taken as durable as it is.
    void restore_after_power_cut(Loss loss, std::mt19937_64& rng);
    // After every connection is closed: the process died (kill -9) but the machine did not. The
    // files keep every write; what was not synced is still not durable for a later power cut. The
    // wal-index (-shm) is put back as it was at the cut (the model's process kept updating it).
    void resume_after_process_crash();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace loopgate::testing
