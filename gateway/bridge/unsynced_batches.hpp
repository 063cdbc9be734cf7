#pragma once
// The batches this run stored readings in while the clock was not synchronized: their receive times
// are corrected in the store, once, when the step is known. Only this run's: the step measured here
// says nothing about a clock an earlier run (perhaps an earlier boot) saw. Pure.

#include <cstdint>
#include <optional>

namespace loopgate {

class UnsyncedBatches {
public:
    struct Range {
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        bool operator==(const Range&) const = default;
    };

    // Readings taken while the clock was not synchronized went into `batch`.
    void stored(std::uint64_t batch) {
        if (first_ == 0) first_ = batch;
        last_ = batch;
    }
    // The clock is synchronized: the batches to correct now, handed out once.
    std::optional<Range> take_due(bool synchronized) {
        if (!synchronized || last_ == 0) return std::nullopt;
        Range r{first_, last_};
        first_ = last_ = 0;
        return r;
    }

private:
    std::uint64_t first_ = 0;  // 0: none
    std::uint64_t last_ = 0;
};

}  // namespace loopgate
