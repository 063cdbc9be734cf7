#pragma once
// Resolves one port's report-by-exception settings into what the filter applies per device: a
// Modbus point's own settings, then `report.metrics.<name>`, then `devices[].report`, then the
// port's `report`; each level fills in what the narrower one leaves out.

#include <map>
#include <string>

#include "drivers/driver.hpp"
#include "gateway/config.hpp"
#include "gateway/report/report_filter.hpp"

namespace loopgate {

// Devices with nothing set are left out: their readings pass the stage untouched.
std::map<std::string, DeviceReport> report_plan(const PortConfig& port, const Driver& driver);

}  // namespace loopgate
