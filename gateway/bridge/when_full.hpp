#pragma once
// store.when_full: drop_oldest lets the store drop its oldest batches to stay within its limits;
// stop_reading keeps them and pauses reading until the backlog drains below the limit. Pure: the
// caller asks the store and tells the ports.

#include <optional>
#include <string>

namespace loopgate {

class WhenFull {
public:
    explicit WhenFull(const std::string& when_full) : drop_oldest_(when_full == "drop_oldest") {}

    bool drops_oldest() const { return drop_oldest_; }
    // Under stop_reading, after the store enforced its limits: true when reading must stop now,
    // false when it may resume, nothing while that is unchanged (or under drop_oldest).
    std::optional<bool> pause_change(bool store_over_limit) {
        if (drop_oldest_ || store_over_limit == paused_) return std::nullopt;
        paused_ = store_over_limit;
        return paused_;
    }

private:
    bool drop_oldest_;
    bool paused_ = false;
};

}  // namespace loopgate
