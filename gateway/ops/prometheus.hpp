#pragma once
// Prometheus text exposition (format 0.0.4) from a table of metric families, rendered by one loop:
// adding a metric is one row, and no family can get a second HELP or TYPE line or lose one.

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace loopgate {

enum class PrometheusType { counter, gauge };

struct PrometheusSample {
    std::vector<std::pair<std::string, std::string>> labels;  // name, value as is (escaped on rendering)
    double value = 0;
};

struct PrometheusMetric {
    const char* name;
    PrometheusType type;
    const char* help;
    // Exactly one of the two: a family of one unlabelled sample, or one sample per label set (none is
    // fine: the family is still declared, so a dashboard sees it exists).
    std::function<double()> value;
    std::function<std::vector<PrometheusSample>()> samples = {};
};

std::string render_prometheus(const std::vector<PrometheusMetric>& table);

}  // namespace loopgate
