#include "gateway/report/report_stage.hpp"

#include <map>
#include <string>

#include "core/clock.hpp"
#include "gateway/report/report_plan.hpp"

namespace loopgate {

ReportStage::ReportStage(boost::asio::io_context& io, Sink next) : timer_(io), next_(std::move(next)) {}

void ReportStage::configure(std::list<PortSlot>& ports) {
    std::map<std::string, DeviceReport> plan;
    for (PortSlot& slot : ports) {
        if (!slot.session) continue;
        for (auto& [device, report] : report_plan(*slot.config, slot.session->driver())) plan.emplace(device, std::move(report));
    }
    filter_.configure(std::move(plan), std::chrono::steady_clock::now());
    armed_.reset();
    timer_.cancel();
    arm(filter_.next_due());
}

void ReportStage::submit(std::vector<Reading>& readings) {
    if (filter_.active()) {
        filter_.submit(readings, std::chrono::steady_clock::now());
        arm(filter_.take_due_hint());
    }
    if (!readings.empty()) next_(readings);
}

void ReportStage::stop() {
    stopped_ = true;
    timer_.cancel();
}

void ReportStage::arm(std::optional<ReportFilter::Steady> due) {
    if (!due || stopped_ || (armed_ && *armed_ <= *due)) return;
    armed_ = due;
    timer_.expires_at(*due);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: configure() or stop()
        armed_.reset();
        on_timer();
    });
}

void ReportStage::on_timer() {
    std::vector<Reading> out;
    filter_.on_timer(std::chrono::steady_clock::now(), wall_now_ns(), out);
    if (!out.empty()) next_(out);
    arm(filter_.next_due());
}

}  // namespace loopgate
