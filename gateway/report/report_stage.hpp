#pragma once
// The report-by-exception stage between the ports and the bridge (README "Report by exception"):
// runs every port's readings through one ReportFilter and keeps its timer (throttled readings,
// heartbeats, silent devices going offline). With nothing configured it hands readings on untouched.

#include <functional>
#include <list>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/reading.hpp"
#include "gateway/report/report_filter.hpp"
#include "gateway/serial/port_session.hpp"

namespace loopgate {

class ReportStage {
public:
    using Sink = std::function<void(std::vector<Reading>&)>;
    ReportStage(boost::asio::io_context& io, Sink next);

    // Takes the settings of the ports as they run now (at start and after each reload).
    void configure(std::list<PortSlot>& ports);
    // The most device/metric names the filter keeps state for (PortSet::name_limit).
    void set_limit(std::size_t max_metrics) { filter_.set_limit(max_metrics); }
    void submit(std::vector<Reading>& readings);
    void stop();

    const ReportCounts& counts() const { return filter_.counts(); }

private:
    void arm(std::optional<ReportFilter::Steady> due);
    void on_timer();

    boost::asio::steady_timer timer_;
    std::optional<ReportFilter::Steady> armed_;
    ReportFilter filter_;
    Sink next_;
    bool stopped_ = false;
};

}  // namespace loopgate
