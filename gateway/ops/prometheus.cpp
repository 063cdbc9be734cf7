#include "gateway/ops/prometheus.hpp"

#include <cstdio>

namespace loopgate {

namespace {

std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void append_sample(std::string& out, const char* name, const PrometheusSample& sample) {
    out += name;
    if (!sample.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [label, value] : sample.labels) {
            if (!first) out += ',';
            first = false;
            out += label + "=\"" + escape_label(value) + "\"";
        }
        out += '}';
    }
    // %.17g: a counter's exact integer value up to 2^53 survives the round trip through text.
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.17g\n", sample.value);
    out += buf;
}

}  // namespace

std::string render_prometheus(const std::vector<PrometheusMetric>& table) {
    std::string out;
    for (const PrometheusMetric& m : table) {
        out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " +
               (m.type == PrometheusType::counter ? "counter" : "gauge") + "\n";
        if (m.value) append_sample(out, m.name, PrometheusSample{{}, m.value()});
        if (m.samples)
            for (const PrometheusSample& s : m.samples()) append_sample(out, m.name, s);
    }
    return out;
}

}  // namespace loopgate
