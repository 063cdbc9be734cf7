#include "gateway/report/report_plan.hpp"

#include <vector>

namespace loopgate {

std::map<std::string, DeviceReport> report_plan(const PortConfig& port, const Driver& driver) {
    ReportPolicy port_policy;
    std::map<std::string, ReportPolicy> port_metrics;
    if (port.report.present()) {
        port_policy = parse_report_policy(port.report);
        for (const auto& [name, node] : report_metrics(port.report)) port_metrics[name] = parse_report_policy(node);
    }
    std::map<std::string, ConfigNode> device_nodes;
    for (const ConfigNode& d : port.devices.items())
        if (d["name"].present()) device_nodes.emplace(d["name"].as_string(), d);
    std::map<std::string, std::vector<MetricPolicy>> points;
    for (MetricPolicy& p : driver.report_policies()) points[p.device].push_back(std::move(p));

    std::map<std::string, DeviceReport> plan;
    for (const std::string& device : driver.device_names()) {
        DeviceReport r;
        r.policy = port_policy;
        if (auto d = device_nodes.find(device); d != device_nodes.end()) {
            if (d->second["report"].present()) r.policy = parse_report_policy(d->second["report"]).over(port_policy);
            if (d->second["offline_after_silence"].present())
                r.offline_after_silence_ms = d->second["offline_after_silence"].as_millis();
        }
        for (const auto& [metric, policy] : port_metrics) r.metrics[metric] = policy.over(r.policy);
        for (const MetricPolicy& p : points[device]) {
            auto broader = r.metrics.find(p.metric);
            r.metrics[p.metric] = p.policy.over(broader != r.metrics.end() ? broader->second : r.policy);
        }
        bool any = r.policy.any() || r.offline_after_silence_ms;
        for (const auto& [metric, policy] : r.metrics) any = any || policy.any();
        if (any) plan.emplace(device, std::move(r));
    }
    return plan;
}

}  // namespace loopgate
