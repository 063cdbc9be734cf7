#pragma once
// The store's layout on disk, as both opening (gateway/store/store_open.cpp) and writing
// (gateway/store/store.cpp) need it. The tables and the upgrades between layouts are in store_open.cpp.
//
// Layout 4: layout 3 (layout 2 plus a CRC-32C of each part's stored bytes, NULL for parts written
// by layout 2) plus each part's encoding (gateway/store/part_codec.hpp; NULL: raw, as layout 3 wrote).
// A part's id is its batch's sequence shifted left by part_bits, plus its index within
// the batch: a batch's parts sit together in the table's own b-tree, so neither writing nor reading
// them needs a second index, and a commit of one part writes one table page (plus overflow).
// A batch's readings and bytes are summed from its parts when it closes, not updated per part; its
// bytes are the stored bytes (deflated parts count their deflated size).

#include <cstdint>

namespace loopgate::store_layout {

constexpr int version = 4;
constexpr int part_bits = 20;  // more parts than a batch can have: each holds a reading, batches <= 100,000

inline std::int64_t first_part(std::uint64_t sequence) { return static_cast<std::int64_t>(sequence << part_bits); }
inline std::int64_t last_part(std::uint64_t sequence) { return first_part(sequence) + ((std::int64_t{1} << part_bits) - 1); }

}  // namespace loopgate::store_layout
