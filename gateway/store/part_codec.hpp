#pragma once
// How a stored part's bytes sit on disk: as they are, or deflated.
//
// The readings of one batch that a commit writes together go into one row, and rows of more than a
// few readings are deflated: their device, metric and unit names repeat from reading to reading, so
// a row of 90 readings shrinks about fivefold, and the fixed pages every commit rewrites (header,
// interior page, last leaf) are most of what is left: during an outage at 100 readings/s, 3.8 -> 2.9
// bytes written per payload byte, and a backlog takes a fifth of the store (docs/BENCHMARKS.md).
//
// Raw deflate (RFC 1951) without a zlib or gzip wrapper: the store's CRC-32C already guards the
// stored bytes. Pure functions over bytes; the store keeps the encoding in the row.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace loopgate {

enum class PartEncoding : int { raw = 0, deflate = 1 };

struct EncodedPart {
    PartEncoding encoding = PartEncoding::raw;
    std::string bytes;
};

// Deflates `raw` when that saves at least a quarter of it (less is not worth inflating at every
// read); rows under 128 bytes stay raw (deflate's own framing would eat the saving).
EncodedPart encode_part(std::string_view raw);

// The part's raw bytes, or nothing when `stored` is not a complete deflate stream of at most
// `max_bytes` raw bytes (or the encoding is unknown): the caller counts it as damaged.
std::optional<std::string> decode_part(std::string_view stored, int encoding, std::size_t max_bytes);

}  // namespace loopgate
