#include "gateway/report/report_filter.hpp"

#include <algorithm>

#include "gateway/report/deadband.hpp"

namespace loopgate {

namespace {

using std::chrono::milliseconds;

// A metric's own policy when the plan has one, else its device's.
const ReportPolicy* policy_for(const DeviceReport& report, const std::string& metric) {
    auto m = report.metrics.find(metric);
    return m != report.metrics.end() ? &m->second : &report.policy;
}

}  // namespace

void ReportFilter::configure(std::map<std::string, DeviceReport> plan, Steady now) {
    plan_ = std::move(plan);
    for (auto it = devices_.begin(); it != devices_.end();) {
        auto p = plan_.find(it->first);
        if (p == plan_.end()) {
            tracked_ -= it->second.metrics.size();
            it = devices_.erase(it);
            continue;
        }
        DeviceState& d = it->second;
        d.report = &p->second;
        for (auto& [metric, s] : d.metrics) {
            s.policy = policy_for(p->second, metric);
            if (!s.policy->min_interval_ms && s.held) s.held.reset();
        }
        if (!d.report->offline_after_silence_ms) d.online.reset();
        ++it;
    }
    // Devices that never sent anything start their silence now.
    for (auto& [name, report] : plan_)
        if (!devices_.count(name)) device_state(name, now);
}

ReportFilter::DeviceState* ReportFilter::device_state(const std::string& device, Steady now) {
    auto it = devices_.find(device);
    if (it != devices_.end()) return &it->second;
    auto p = plan_.find(device);
    if (p == plan_.end()) return nullptr;
    DeviceState& d = devices_[device];
    d.report = &p->second;
    d.last_seen = now;
    return &d;
}

ReportFilter::MetricState* ReportFilter::metric_state(DeviceState& d, const std::string& metric) {
    auto it = d.metrics.find(metric);
    if (it != d.metrics.end()) return &it->second;
    if (tracked_ >= max_metrics_) return nullptr;
    MetricState& s = d.metrics[metric];
    ++tracked_;
    s.policy = policy_for(*d.report, metric);
    return &s;
}

bool ReportFilter::significant(const MetricState& s, const Reading& r, Steady now) const {
    const ReportPolicy& p = *s.policy;
    if (p.max_silence_ms && now - s.last_report >= milliseconds(*p.max_silence_ms)) return true;
    bool filtered = false;
    if (p.deadband) {
        filtered = true;
        if (moved_out_of_deadband(s.last_value, r.value, *p.deadband)) return true;
    }
    if (p.on_change.value_or(false)) {
        filtered = true;
        if (!same_reported_value(s.last_value, r.value)) return true;
    }
    return !filtered;
}

void ReportFilter::report(MetricState& s, const Reading& r, Steady now, std::vector<Reading>& out) {
    s.reported = true;
    s.quality = r.quality;
    s.reason = r.quality_reason;
    s.last_value = r.value;
    s.last_report = now;
    s.held.reset();
    out.push_back(r);
}

Reading ReportFilter::online_reading(const std::string& device, bool online, std::int64_t wall_ns) {
    Reading r;
    r.device = device;
    r.metric = "online";
    r.value = online;
    r.receive_time_ns = wall_ns;
    return r;
}

void ReportFilter::submit(std::vector<Reading>& readings, Steady now) {
    if (plan_.empty()) return;
    std::vector<Reading> out;
    out.reserve(readings.size());
    for (Reading& r : readings) {
        DeviceState* d = device_state(r.device, now);
        if (!d) {
            out.push_back(std::move(r));
            continue;
        }
        d->last_seen = now;
        if (d->report->offline_after_silence_ms) hint(now + milliseconds(*d->report->offline_after_silence_ms));
        if (d->report->offline_after_silence_ms && d->online != true) {
            if (d->online == false) {  // back: every metric reports afresh
                tracked_ -= d->metrics.size();
                d->metrics.clear();
            }
            d->online = true;
            out.push_back(online_reading(r.device, true, r.receive_time_ns));
        }
        if (r.metric == "online") {  // the driver's own verdict (Modbus): never filtered
            ++counts_.passed;
            out.push_back(std::move(r));
            continue;
        }
        MetricState* state = metric_state(*d, r.metric);
        if (!state) {
            // Beyond the names the filter keeps state for: passed as it came, never lost.
            ++counts_.untracked;
            out.push_back(std::move(r));
            continue;
        }
        MetricState& s = *state;
        if (!s.policy->any()) {
            ++counts_.passed;
            out.push_back(std::move(r));
            continue;
        }
        if (s.policy->max_silence_ms) s.latest = r;
        bool always = r.always_report || !s.reported || r.quality != s.quality || r.quality_reason != s.reason ||
                      r.quality != Quality::good;
        if (!always && s.held) {
            // Waiting for its turn already: the latest value wins.
            s.held = std::move(r);
            ++counts_.replaced;
            continue;
        }
        if (!always && !significant(s, r, now)) {
            ++counts_.suppressed;
            continue;
        }
        const auto& interval = s.policy->min_interval_ms;
        if (!always && interval && now - s.last_report < milliseconds(*interval)) {
            s.held = std::move(r);
            ++counts_.throttled;
            hint(s.last_report + milliseconds(*interval));
            continue;
        }
        ++counts_.passed;
        report(s, r, now, out);
        if (s.policy->max_silence_ms) hint(now + milliseconds(*s.policy->max_silence_ms));
    }
    readings = std::move(out);
}

void ReportFilter::on_timer(Steady now, std::int64_t wall_now_ns, std::vector<Reading>& out) {
    for (auto& [name, d] : devices_) {
        if (d.report->offline_after_silence_ms && d.online != false &&
            now - d.last_seen >= milliseconds(*d.report->offline_after_silence_ms)) {
            d.online = false;
            ++counts_.offline;
            out.push_back(online_reading(name, false, wall_now_ns));
            for (auto& [metric, s] : d.metrics) s.held.reset();
            continue;  // an offline device makes no heartbeats
        }
        if (d.online == false) continue;
        for (auto& [metric, s] : d.metrics) {
            if (!s.policy || !s.reported) continue;
            const ReportPolicy& p = *s.policy;
            if (s.held && p.min_interval_ms && now - s.last_report >= milliseconds(*p.min_interval_ms)) {
                Reading r = std::move(*s.held);
                report(s, r, now, out);
                continue;
            }
            if (!s.held && p.max_silence_ms && s.latest && now - s.last_report >= milliseconds(*p.max_silence_ms)) {
                // The latest value again: when it was measured stays, when it is vouched for is now.
                Reading r = *s.latest;
                if (!r.source_time_ns) r.source_time_ns = r.receive_time_ns;
                r.receive_time_ns = wall_now_ns;
                ++counts_.heartbeats;
                report(s, r, now, out);
            }
        }
    }
}

std::optional<ReportFilter::Steady> ReportFilter::next_due() const {
    std::optional<Steady> due;
    auto earliest = [&](Steady t) {
        if (!due || t < *due) due = t;
    };
    for (const auto& [name, d] : devices_) {
        if (d.report->offline_after_silence_ms && d.online != false)
            earliest(d.last_seen + milliseconds(*d.report->offline_after_silence_ms));
        if (d.online == false) continue;
        for (const auto& [metric, s] : d.metrics) {
            if (!s.policy || !s.reported) continue;
            if (s.held && s.policy->min_interval_ms) earliest(s.last_report + milliseconds(*s.policy->min_interval_ms));
            else if (s.policy->max_silence_ms && s.latest) earliest(s.last_report + milliseconds(*s.policy->max_silence_ms));
        }
    }
    return due;
}

}  // namespace loopgate
