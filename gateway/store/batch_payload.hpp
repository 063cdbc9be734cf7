#pragma once
// Readings to and from the native payload, a serialized v1::Batch (proto/loopgate.proto). It is both
// the store's row format and what the uplink publishes: the bridge stores a batch as a header and parts
// (encode_batch_header, encode_readings), the store hands them back concatenated, and the uplink sends
// those bytes as they are (with mark_historical after an outage). Here, below every stage that uses it:
// the store keeps these bytes, the bridge, uplink, Sparkplug publisher and `loopgate tail` read them.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/reading.hpp"
#include "loopgate.pb.h"

namespace loopgate {

void to_proto(const Reading& r, v1::Reading& out);
Reading from_proto(const v1::Reading& r);

std::string encode_batch(const std::string& gateway_id, std::uint64_t batch_sequence, std::int64_t created_ns,
                         const std::vector<Reading>& readings);
// A batch is stored as a header and parts; concatenated they parse as one Batch (protobuf appends
// repeated fields of concatenated messages).
std::string encode_batch_header(const std::string& gateway_id, std::uint64_t batch_sequence, std::int64_t created_ns);
std::string encode_readings(std::span<const Reading> readings);

// A stored payload republished after an outage gets historical=true. Protobuf merges a field that
// appears twice with the last one winning, so appending the field's three bytes to the stored
// bytes sets the flag without decoding and re-encoding the batch.
std::string mark_historical(const std::string& payload);

// A stored part (a serialized Batch) with the receive times of the readings whose quality reason is
// `flagged` moved by `step_ns` and their reason replaced by `corrected`; nothing when no reading is
// flagged or the part does not parse (it is left as stored).
std::optional<std::string> correct_receive_times(std::string_view part, std::string_view flagged, std::int64_t step_ns,
                                                 const std::string& corrected);

// Approximate encoded size of one reading, for the batcher's byte limit.
std::size_t estimated_size(const Reading& r);

}  // namespace loopgate
