// Which batches a clock correction is due for: those this run stored readings in before the clock
// was synchronized, once it is.
#include <catch2/catch.hpp>

#include <optional>

#include "gateway/bridge/unsynced_batches.hpp"

using namespace loopgate;
using Range = UnsyncedBatches::Range;

TEST_CASE("unsynced batches: the correction is due once the clock is synchronized, for the batches stored before", "[bridge][clock]") {
    UnsyncedBatches unsynced;
    CHECK(unsynced.take_due(true) == std::nullopt);  // nothing stored unsynchronized: nothing to correct
    unsynced.stored(7);
    unsynced.stored(7);  // a batch gathers several reads
    unsynced.stored(8);
    unsynced.stored(10);
    CHECK(unsynced.take_due(false) == std::nullopt);  // the step is not known yet
    CHECK(unsynced.take_due(true) == Range{7, 10});
    CHECK(unsynced.take_due(true) == std::nullopt);   // once
    // The clock lost its synchronization again: a new range from the next batch stored.
    unsynced.stored(12);
    CHECK(unsynced.take_due(true) == Range{12, 12});
}
