#pragma once
// High-water marks of the ids the store hands out, kept in a small file beside the store.
//
// A consumer drops a (gateway_id, batch_sequence) it has seen, and reads a gap in a device's
// `sequence` as a lost reading; so no id that may have reached the broker can be used again, not even
// after the store was damaged and moved aside. The store itself remembers its ids; this file is for
// the day it cannot: it holds marks *ahead* of every id assigned so far (reserved in blocks, so it is
// rewritten once per block, not per reading: wear matters on an SD card), and a store that had to be
// recovered starts above them. Gaps after a recovery are honest: readings may have been lost there.
//
// The file is replaced atomically (temporary file, fsync, rename, fsync of the directory): a power
// cut leaves the old marks or the new ones, never a mix.

#include <cstdint>
#include <map>
#include <string>

namespace loopgate {

class IdMarks {
public:
    // Reads the marks at `path`; a missing file means none yet. An unreadable one is logged and
    // treated as none (stats: damaged()).
    explicit IdMarks(std::string path, std::uint64_t batch_block = 65536, std::uint64_t device_block = 65536);

    std::uint64_t batch() const { return batch_; }
    const std::map<std::string, std::uint64_t>& devices() const { return devices_; }
    bool damaged() const { return damaged_; }
    std::uint64_t batch_block() const { return batch_block_; }
    std::uint64_t device_block() const { return device_block_; }

    // Makes sure the marks on disk are at least `batch` and each device's sequence, reserving a
    // block ahead when one is passed. Returns false when the file cannot be written (the error is in
    // last_error(); the next call tries again).
    bool cover(std::uint64_t batch, const std::map<std::string, std::uint64_t>& devices);
    bool cover_batch(std::uint64_t batch) { return batch <= batch_ || cover(batch, {}); }

    const std::string& last_error() const { return last_error_; }
    std::uint64_t writes() const { return writes_; }
    std::uint64_t failures() const { return failures_; }

private:
    bool save(std::uint64_t batch, const std::map<std::string, std::uint64_t>& devices);

    std::string path_;
    std::uint64_t batch_block_;
    std::uint64_t device_block_;
    std::uint64_t batch_ = 0;
    std::map<std::string, std::uint64_t> devices_;
    bool damaged_ = false;
    std::string last_error_;
    std::uint64_t writes_ = 0;
    std::uint64_t failures_ = 0;
};

}  // namespace loopgate
