#pragma once
// The smallest batch a store test needs: opened, one reading appended, closed and committed.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/store/batch_payload.hpp"
#include "gateway/store/store.hpp"

namespace loopgate::testing {

// Adds batch next_sequence() holding one reading of `device` (metric m, value 1) numbered
// `reading_sequence`, or the batch's own sequence when 0; returns the batch's sequence.
inline std::uint64_t add_one_reading_batch(Store& store, const std::string& device = "d",
                                           std::uint64_t reading_sequence = 0) {
    std::uint64_t seq = store.next_sequence();
    if (reading_sequence == 0) reading_sequence = seq;
    store.open_batch(seq, 1, encode_batch_header("gw", seq, 1));
    Reading r;
    r.device = device;
    r.metric = "m";
    r.value = 1.0;
    r.sequence = reading_sequence;
    std::vector<Reading> one{r};
    store.append(seq, encode_readings(one), 1, {{device, reading_sequence}});
    store.close_batch(seq);
    REQUIRE(store.commit());
    return seq;
}

}  // namespace loopgate::testing
