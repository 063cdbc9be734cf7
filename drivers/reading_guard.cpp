#include "drivers/reading_guard.hpp"

#include <cmath>

#include "drivers/text/sanitize_text.hpp"

namespace loopgate {

namespace {

class GuardedDriver final : public Driver {
public:
    explicit GuardedDriver(std::unique_ptr<Driver> inner) : inner_(std::move(inner)) {}

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
        return c;
    }

private:
    // The output may already hold readings from an earlier call (callers may reuse it): guard only
    // the new ones, so nothing is counted twice.
    void guard(DriverOutput& out, std::size_t from) {
        for (std::size_t i = from; i < out.readings.size(); ++i) guard_reading(out.readings[i], counts_);
    }

    std::unique_ptr<Driver> inner_;
    GuardCounts counts_;
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

std::unique_ptr<Driver> guard_driver(std::unique_ptr<Driver> inner) {
    return std::make_unique<GuardedDriver>(std::move(inner));
}

}  // namespace loopgate
