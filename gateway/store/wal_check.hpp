#pragma once
// Reads an SQLite write-ahead log the way SQLite's recovery does, to tell a log that a power cut
// tore at its end (normal: the unsynced tail is dropped) from one damaged in the middle, where
// SQLite would silently drop every committed transaction after the damage.
//
// Format (sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, version, page size,
// checkpoint sequence, two salts, a checksum of the first 24 bytes), then frames of a 24-byte header
// (page number, database size for a commit frame or 0, the salts, a checksum running over every
// frame so far) and one page. SQLite replays frames while salts match and the running checksum
// holds, up to the last commit frame.

#include <cstdint>
#include <span>
#include <string>

namespace loopgate {

struct WalInspection {
    bool empty = true;               // no header, or no frame after it: nothing to replay
    bool damaged = false;
    std::uint64_t frames = 0;        // whole frames in the file
    std::uint64_t replayed = 0;      // frames SQLite will apply (through the last good commit)
    std::uint64_t lost_commits = 0;  // committed transactions (commit frames) SQLite would not replay
    std::string reason;              // why damaged, for the log
};

// Damaged: a header that fails its checksum in front of frames, or frames of a committed
// transaction that SQLite would not replay. `index` is SQLite's wal-index (the -shm file) if the
// caller knows it was written since the machine started (no power cut since), else empty; with it
// the committed frames are known exactly, without it they are judged from the log alone. The rule
// and its limits are in the comment in wal_check.cpp.
WalInspection inspect_wal(std::span<const std::uint8_t> wal, std::span<const std::uint8_t> index = {});

}  // namespace loopgate
