#include "gateway/store/wal_check.hpp"

#include <cstring>
#include <optional>

namespace loopgate {

namespace {

constexpr std::size_t header_size = 32;
constexpr std::size_t frame_header_size = 24;

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

struct Checksum {
    std::uint32_t s0 = 0, s1 = 0;
    bool operator==(const Checksum&) const = default;
};

// SQLite's checksum: pairs of 32-bit words, read in the byte order the magic number names.
Checksum checksum(const std::uint8_t* p, std::size_t n, bool big_endian, Checksum c) {
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        std::uint32_t x0, x1;
        if (big_endian) {
            x0 = be32(p + i);
            x1 = be32(p + i + 4);
        } else {
            x0 = std::uint32_t{p[i]} | (std::uint32_t{p[i + 1]} << 8) | (std::uint32_t{p[i + 2]} << 16) |
                 (std::uint32_t{p[i + 3]} << 24);
            x1 = std::uint32_t{p[i + 4]} | (std::uint32_t{p[i + 5]} << 8) | (std::uint32_t{p[i + 6]} << 16) |
                 (std::uint32_t{p[i + 7]} << 24);
        }
        c.s0 += x0 + c.s1;
        c.s1 += x1 + c.s0;
    }
    return c;
}

bool valid_page_size(std::uint32_t size) { return size >= 512 && size <= 65536 && (size & (size - 1)) == 0; }

// The frames SQLite's own index (the -shm file, sqlite.org/walformat.html#the_wal_index_file_format)
// counts as committed in the log generation whose salts are `salts` (8 bytes as in the log header),
// or nothing when the index is missing, damaged, uninitialized or of another generation. The index
// header is two copies of 48 bytes in native byte order: version, unused, change counter, isInit,
// bigEndCksum, page size, mxFrame, pages, last frame's checksum, salts, and a checksum of the first
// 40 bytes; SQLite trusts it only when both copies agree and the checksum holds.
std::optional<std::uint32_t> index_committed_frames(std::span<const std::uint8_t> shm, const std::uint8_t* salts) {
    constexpr std::size_t hdr = 48;
    if (shm.size() < 2 * hdr || std::memcmp(shm.data(), shm.data() + hdr, hdr) != 0) return std::nullopt;
    std::uint32_t word[12];
    std::memcpy(word, shm.data(), hdr);
    if (word[0] != 3007000 || shm[12] != 1) return std::nullopt;
    std::uint32_t s0 = 0, s1 = 0;
    for (int i = 0; i < 10; i += 2) {
        s0 += word[i] + s1;
        s1 += word[i + 1] + s0;
    }
    if (s0 != word[10] || s1 != word[11] || std::memcmp(shm.data() + 32, salts, 8) != 0) return std::nullopt;
    return word[4];
}

}  // namespace

WalInspection inspect_wal(std::span<const std::uint8_t> wal, std::span<const std::uint8_t> index) {
    WalInspection out;
    if (wal.size() < header_size) return out;
    const std::uint8_t* h = wal.data();
    std::uint32_t magic = be32(h);
    std::uint32_t page_size = be32(h + 8);
    bool big_endian = (magic & 1) != 0;
    bool header_ok = (magic & 0xfffffffe) == 0x377f0682 && be32(h + 4) == 3007000 && valid_page_size(page_size);
    Checksum running{};
    if (header_ok) {
        running = checksum(h, 24, big_endian, {});
        header_ok = running == Checksum{be32(h + 24), be32(h + 28)};
    }
    if (!header_ok) {
        // Without a header the frame size is unknown; any bytes past it mean frames were written.
        // SQLite syncs a new header before it writes a frame after it, so this is damage, not a tear.
        if (wal.size() > header_size && (be32(h + 8) != 0 || magic != 0)) {
            out.empty = false;
            out.damaged = true;
            out.reason = "its header is damaged; SQLite would ignore all " + std::to_string(wal.size() - header_size) +
                         " bytes of frames";
        }
        return out;
    }
    std::size_t frame_size = frame_header_size + page_size;
    out.frames = (wal.size() - header_size) / frame_size;
    out.empty = out.frames == 0;
    std::uint32_t salt1 = be32(h + 16), salt2 = be32(h + 20);
    auto frame_at = [&](std::uint64_t i) { return h + header_size + i * frame_size; };
    auto same_generation = [&](const std::uint8_t* f) { return be32(f + 8) == salt1 && be32(f + 12) == salt2; };
    auto frame_checksum = [&](const std::uint8_t* f, Checksum seed) {
        return checksum(f + frame_header_size, page_size, big_endian, checksum(f, 8, big_endian, seed));
    };
    std::uint64_t i = 0;
    for (; i < out.frames; ++i) {
        const std::uint8_t* f = frame_at(i);
        if (!same_generation(f)) break;
        Checksum c = frame_checksum(f, running);
        if (!(c == Checksum{be32(f + 16), be32(f + 20)})) break;
        running = c;
        if (be32(f + 4) != 0) out.replayed = i + 1;
    }
    std::optional<std::uint32_t> committed = index_committed_frames(index, h + 16);
    if (i >= out.frames && !(committed && *committed > out.replayed)) return out;
    // Frame i ends what SQLite replays: a tear, the end of this generation, or damage. Told apart:
    //
    // 1. SQLite's index (the -shm file), when the caller found it written since the machine started
    //    (no power cut since: the page cache kept everything), knows: SQLite updates it once a
    //    commit's frames are all written, so the frames it counts as committed must replay. Fewer
    //    replay: damage, whatever the frames look like now (even zeroed). No fewer: any failure
    //    after them is a transaction SQLite never finished (a kill between its writes of a frame, or
    //    the leftovers of one the disk refused), not committed data.
    // 2. Without it (after a power cut, which takes the never-synced index too), the log alone.
    //    A frame with this generation's salts was written in this generation (older frames carry
    //    older salts; matching by chance is a 2^-64 event). SQLite writes a transaction's frames in
    //    order, its commit frame (nonzero "database size after commit") last. So a same-salt commit
    //    frame after frame i means frame i's transaction was finished: frame i's failure is damage
    //    to committed data, which SQLite would drop with every transaction after it. This holds
    //    whether or not the frames after i check out: their running checksum is seeded by the bad
    //    frame, and one bad byte in a checksum field, or a zeroed block over a frame header, must not
    //    turn damage into a "tear". Without a same-salt commit frame after i, the frames from i on
    //    are the last transaction, and the tear a power cut leaves is there: in the frames before
    //    its commit frame (never written) or in the commit frame itself (its header written, the
    //    rest of its page not). That last case looks exactly like a commit frame damaged after it
    //    was written; the format cannot tell them apart, and after a power cut the tear is the
    //    likely one, so it is taken for a tear (as SQLite does).
    // What is counted as damage wrongly, without the index: a power cut whose writes reached the
    // disk out of order (a later frame of the last transaction, commit included, before an earlier
    // one), and the leftovers of a transaction the disk refused mid-commit partly overwritten by a
    // shorter one, if a power cut follows. A false alarm costs a copy of the log and a recovery
    // counted (ids continue above the marks); the other way round a committed transaction, up to a
    // commit chunk of readings, would vanish unsaid.
    if (committed) {
        for (std::uint64_t j = i; j < std::min<std::uint64_t>(*committed, out.frames); ++j)
            if (same_generation(frame_at(j)) && be32(frame_at(j) + 4) != 0) ++out.lost_commits;
        if (*committed > out.replayed) out.lost_commits = std::max<std::uint64_t>(out.lost_commits, 1);
    } else {
        for (std::uint64_t j = i + 1; j < out.frames; ++j)
            if (same_generation(frame_at(j)) && be32(frame_at(j) + 4) != 0) ++out.lost_commits;
        if (out.lost_commits > 0 && be32(frame_at(i) + 4) != 0 && same_generation(frame_at(i))) ++out.lost_commits;
    }
    if (out.lost_commits > 0) {
        out.damaged = true;
        out.reason = "SQLite would replay " + std::to_string(out.replayed) + " of its " + std::to_string(out.frames) +
                     " frames and drop " + std::to_string(out.lost_commits) + " committed transaction(s) after them (frame " +
                     std::to_string(i + 1) + " fails its checksum or salts)";
    }
    return out;
}

}  // namespace loopgate
