#include "gateway/ops/live_values.hpp"

namespace loopgate {

void LiveValues::observe(const std::vector<Reading>& readings) {
    const std::string* device = nullptr;
    DeviceActivity* activity = nullptr;
    std::map<std::string, Reading>* metrics = nullptr;
    for (const Reading& r : readings) {
        // A batch from one frame is one device's readings: look the device up once per run of them.
        if (!device || *device != r.device) {
            auto a = devices_.find(r.device);
            if (a == devices_.end()) {
                if (devices_.size() >= max_metrics_) {
                    ++untracked_;
                    device = nullptr;
                    continue;
                }
                a = devices_.try_emplace(r.device).first;
            }
            activity = &a->second;
            metrics = &latest_[r.device];
            device = &r.device;
        }
        std::int64_t second = r.receive_time_ns / 1'000'000'000;
        std::size_t bucket = static_cast<std::size_t>(second % 60);
        if (activity->seconds[bucket] != second) {
            activity->seconds[bucket] = second;
            activity->per_second[bucket] = 0;
        }
        ++activity->per_second[bucket];
        ++activity->readings;
        activity->last_reading_ns = r.receive_time_ns;
        auto it = metrics->find(r.metric);
        if (it != metrics->end()) {
            it->second = r;
        } else if (values_ < max_metrics_) {
            metrics->emplace(r.metric, r);
            ++values_;
        } else {
            ++untracked_;
        }
    }
}

std::uint64_t LiveValues::last_minute(const DeviceActivity& activity, std::int64_t now_ns) {
    std::int64_t now_s = now_ns / 1'000'000'000;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < 60; ++i)
        if (activity.seconds[i] > now_s - 60 && activity.seconds[i] <= now_s) total += activity.per_second[i];
    return total;
}

}  // namespace loopgate
