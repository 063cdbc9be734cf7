#include "drivers/reading_guard.hpp"

#include <algorithm>
#include <cmath>

#include "core/untrusted_text.hpp"
#include "drivers/text/sanitize_text.hpp"

namespace loopgate {

namespace {

class GuardedDriver final : public Driver {
public:
    GuardedDriver(std::unique_ptr<Driver> inner, std::size_t max_metrics)
        : inner_(std::move(inner)), names_(max_metrics), max_metrics_(max_metrics) {}

    void on_open(const DriverClock& now, DriverOutput& out) override {
        const std::size_t before = out.readings.size();
        inner_->on_open(now, out);
        guard(out, before);
    }
    void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) override {
        const std::size_t before = out.readings.size();
        inner_->on_bytes(bytes, now, out);
        guard(out, before);
    }
    void on_timer(const DriverClock& now, DriverOutput& out) override {
        const std::size_t before = out.readings.size();
        inner_->on_timer(now, out);
        guard(out, before);
    }
    void on_close(DriverOutput& out) override { inner_->on_close(out); }
    WriteResult write_point(const WriteRequest& request, const DriverClock& now, DriverOutput& out) override {
        const std::size_t before = out.readings.size();
        WriteResult r = inner_->write_point(request, now, out);
        guard(out, before);
        return r;
    }
    bool has_device(const std::string& device) const override { return inner_->has_device(device); }
    std::vector<std::string> device_names() const override { return inner_->device_names(); }
    std::vector<MetricPolicy> report_policies() const override { return inner_->report_policies(); }

    Counters counters() const override {
        Counters c = inner_->counters();
        c["text_replaced"] = counts_.text_replaced;
        c["non_finite"] = counts_.non_finite;
        c["metrics_over_limit"] = names_.refused();
        return c;
    }

private:
    // The output may already hold readings from an earlier call (callers may reuse it): guard only
    // the new ones, so nothing is counted twice.
    void guard(DriverOutput& out, std::size_t from) {
        auto& rs = out.readings;
        for (std::size_t i = from; i < rs.size(); ++i) guard_reading(rs[i], counts_);
        const bool refused_before = names_.refused() > 0;
        std::string first_refused;
        auto end = std::remove_if(rs.begin() + static_cast<std::ptrdiff_t>(from), rs.end(), [&](const Reading& r) {
            if (names_.admit(r.device, r.metric)) return false;
            if (first_refused.empty()) first_refused = r.device + "/" + r.metric;
            return true;
        });
        rs.erase(end, rs.end());
        if (!refused_before && !first_refused.empty()) {
            // Once per driver (until a reload rebuilds the port): the counter says the rest. The name
            // came from the device, and goes into the log as every outside name does.
            out.warnings.push_back("more than " + std::to_string(max_metrics_) +
                                   " distinct device/metric names (ports[].max_metrics): readings of new names, "
                                   "the first '" + untrusted_text(first_refused, 80) + "', are dropped and counted as metrics_over_limit");
        }
    }

    std::unique_ptr<Driver> inner_;
    GuardCounts counts_;
    NameLimit names_;
    std::size_t max_metrics_;
};

}  // namespace

void guard_reading(Reading& r, GuardCounts& counts) {
    if (auto* text = std::get_if<std::string>(&r.value)) counts.text_replaced += sanitize_text(*text);
    counts.text_replaced += sanitize_text(r.unit);
    counts.text_replaced += sanitize_text(r.metric);
    counts.text_replaced += sanitize_text(r.device);
    counts.text_replaced += sanitize_text(r.quality_reason);
    if (const auto* d = std::get_if<double>(&r.value); d && !std::isfinite(*d)) {
        ++counts.non_finite;
        // A reading already bad keeps its own reason (the Modbus driver says the same one itself).
        if (r.quality != Quality::bad) {
            r.quality = Quality::bad;
            r.quality_reason = non_finite_reason;
        }
    }
}

bool NameLimit::admit(const std::string& device, const std::string& metric) {
    if (metric == "online") return true;
    std::string key;
    key.reserve(device.size() + 1 + metric.size());
    key.append(device).push_back('\0');
    key.append(metric);
    if (names_.size() < limit_) {
        names_.insert(std::move(key));
        return true;
    }
    if (names_.count(key)) return true;
    ++refused_;
    return false;
}

std::unique_ptr<Driver> guard_driver(std::unique_ptr<Driver> inner, std::size_t max_metrics) {
    return std::make_unique<GuardedDriver>(std::move(inner), max_metrics);
}

}  // namespace loopgate
