#include "gateway/store/wal_check.hpp"

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

}  // namespace

WalInspection inspect_wal(std::span<const std::uint8_t> wal) {
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
    if (i >= out.frames) return out;
    // Frame i ends what SQLite replays: a stale tail of an older generation, a torn write, or damage.
    // Follow the chain past it, seeded with what the frame itself recorded: only if frame i's header
    // is intact do later frames of this generation check out, and intact commits among them were
    // written after it - lost to SQLite, though on disk.
    Checksum seed{be32(frame_at(i) + 16), be32(frame_at(i) + 20)};
    for (std::uint64_t j = i + 1; j < out.frames; ++j) {
        const std::uint8_t* f = frame_at(j);
        if (!same_generation(f)) break;
        Checksum c = frame_checksum(f, seed);
        if (!(c == Checksum{be32(f + 16), be32(f + 20)})) break;
        seed = c;
        if (be32(f + 4) != 0) ++out.lost_commits;
    }
    if (out.lost_commits > 0) {
        out.damaged = true;
        out.reason = "frame " + std::to_string(i + 1) + " of " + std::to_string(out.frames) +
                     " fails its checksum and " + std::to_string(out.lost_commits) +
                     " committed transactions follow it; SQLite would drop them";
    }
    return out;
}

}  // namespace loopgate
