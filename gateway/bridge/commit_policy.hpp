#pragma once
// When the bridge commits the store, by store.durability:
// - buffered: a write waits write_delay for its acknowledgement (what the broker acknowledges meanwhile
//   is never written); the commit timer follows the oldest write, and once it waited write_delay
//   everything queued goes with it, so an outage costs one commit per write_delay, not one per read.
// - write-through: every read is committed at once (commit_interval 0), or with the next group
//   commit (commit_interval > 0: fewer writes, latency up to max_delay + interval).
// Deletions of acknowledged batches wait for the next commit, or at most removal_delay: one per
// acknowledgement would cost a transaction each. A refused commit is retried every retry_interval.
// Pure: the shell owns the timer and passes the store's state and the time.

#include <chrono>
#include <optional>

namespace loopgate {

class CommitPolicy {
public:
    using Time = std::chrono::steady_clock::time_point;
    static constexpr std::chrono::milliseconds removal_delay{200};
    static constexpr std::chrono::seconds retry_interval{1};

    CommitPolicy(bool buffered, std::chrono::milliseconds commit_interval, std::chrono::milliseconds write_delay)
        : buffered_(buffered), commit_interval_(commit_interval), write_delay_(write_delay) {}

    struct Decision {
        enum class Kind {
            none,    // nothing to do (nothing waits, or the armed timer comes first)
            now,     // commit now
            arm_at,  // arm the commit timer for `at`
        };
        Kind kind = Kind::none;
        Time at{};
    };
    // Readings were written or a batch closed. next_due: when the store's oldest queued write has
    // waited write_delay (buffered; none when nothing waits); armed_until: the commit timer's expiry
    // while it is armed.
    Decision after_write(std::optional<Time> next_due, std::optional<Time> armed_until, Time now) const;
    // The buffered commit timer fired: commit if the oldest write waited write_delay (the write it
    // was set for may have been acknowledged meanwhile; then arm for the next one).
    bool due_at_timer(std::optional<Time> next_due, Time now) const { return next_due && *next_due <= now; }
    // What a commit made now writes: buffered, the writes queued before now - write_delay (the young
    // ones may still be acknowledged); write-through, everything.
    Time cutoff(Time now) const;

    enum class AfterDelivery {
        commit_with_group,  // write-through with commit_interval: the deletion goes with the next group commit
        arm_removal,        // commit the deletions in removal_delay
        nothing,            // a removal commit is armed already, or nothing buffered needs writing
    };
    // A batch was acknowledged and removed from the store.
    AfterDelivery after_delivery(bool removal_armed, bool store_has_removals) const;

private:
    bool buffered_;
    std::chrono::milliseconds commit_interval_;
    std::chrono::milliseconds write_delay_;
};

}  // namespace loopgate
