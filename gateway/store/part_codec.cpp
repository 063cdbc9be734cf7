#include "gateway/store/part_codec.hpp"

#include <zlib.h>

#include <algorithm>

namespace loopgate {

namespace {

constexpr std::size_t deflate_from_bytes = 128;
// Level 1: most of the saving at a fraction of the time (a 90-reading row: 3,735 -> 749 bytes at
// level 1, 724 at level 6), so that a backlog written at full speed is not held up by it.
constexpr int deflate_level = 1;

}  // namespace

EncodedPart encode_part(std::string_view raw) {
    EncodedPart out;
    if (raw.size() < deflate_from_bytes) {
        out.bytes.assign(raw);
        return out;
    }
    z_stream z{};
    if (deflateInit2(&z, deflate_level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        out.bytes.assign(raw);
        return out;
    }
    std::string packed(deflateBound(&z, static_cast<uLong>(raw.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = reinterpret_cast<Bytef*>(packed.data());
    z.avail_out = static_cast<uInt>(packed.size());
    int rc = deflate(&z, Z_FINISH);
    packed.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END || packed.size() > raw.size() - raw.size() / 4) {
        out.bytes.assign(raw);
        return out;
    }
    out.encoding = PartEncoding::deflate;
    out.bytes = std::move(packed);
    return out;
}

std::optional<std::string> decode_part(std::string_view stored, int encoding, std::size_t max_bytes) {
    if (encoding == static_cast<int>(PartEncoding::raw)) return std::string(stored);
    if (encoding != static_cast<int>(PartEncoding::deflate)) return std::nullopt;
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) return std::nullopt;
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data()));
    z.avail_in = static_cast<uInt>(stored.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        std::size_t have = out.size();
        if (have >= max_bytes) break;
        std::size_t grow = std::min(max_bytes - have, std::max<std::size_t>(4096, stored.size() * 6));
        out.resize(have + grow);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
        z.avail_out = static_cast<uInt>(grow);
        rc = inflate(&z, Z_NO_FLUSH);
        out.resize(have + grow - z.avail_out);
    }
    // Complete (a truncated stream stops with Z_BUF_ERROR), within max_bytes, and nothing after its end.
    bool whole = rc == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    if (!whole) return std::nullopt;
    return out;
}

}  // namespace loopgate
