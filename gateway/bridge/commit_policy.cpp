#include "gateway/bridge/commit_policy.hpp"

namespace loopgate {

CommitPolicy::Decision CommitPolicy::after_write(std::optional<Time> next_due, std::optional<Time> armed_until,
                                                 Time now) const {
    if (buffered_) {
        if (!next_due || (armed_until && *armed_until <= *next_due)) return {};
        return {Decision::Kind::arm_at, *next_due};
    }
    if (commit_interval_.count() == 0) return {Decision::Kind::now, now};
    if (armed_until) return {};
    return {Decision::Kind::arm_at, now + commit_interval_};
}

CommitPolicy::Time CommitPolicy::cutoff(Time now) const {
    return buffered_ ? now - write_delay_ + std::chrono::nanoseconds(1) : Time::max();
}

CommitPolicy::AfterDelivery CommitPolicy::after_delivery(bool removal_armed, bool store_has_removals) const {
    if (commit_interval_.count() > 0 && !buffered_) return AfterDelivery::commit_with_group;
    if (!removal_armed && (!buffered_ || store_has_removals)) return AfterDelivery::arm_removal;
    return AfterDelivery::nothing;
}

}  // namespace loopgate
