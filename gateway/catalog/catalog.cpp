#include "gateway/catalog/catalog.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>

#include "core/reading_json.hpp"

namespace loopgate {

namespace {

// What a configured metric says about itself before any reading of it arrives.
struct MetricEntry {
    std::string name;
    std::string type;  // double | int | bool | string: the value type published
    std::string unit;
    bool writable = false;
    std::optional<double> scale, offset, min, max;
};

std::string quoted(const std::string& s) { return "\"" + json_escape(s) + "\""; }

// The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string string_map_json(const std::map<std::string, std::string>& m) {
    std::string out = "{";
    for (const auto& [k, v] : m) out += (out.size() > 1 ? "," : "") + quoted(k) + ":" + quoted(v);
    return out + "}";
}

const char* value_type(const Value& v) {
    if (std::holds_alternative<double>(v)) return "double";
    if (std::holds_alternative<std::int64_t>(v)) return "int";
    if (std::holds_alternative<bool>(v)) return "bool";
    return "string";
}

std::optional<double> real_if(const ConfigNode& n, const char* key) {
    if (!n[key].present()) return std::nullopt;
    return n[key].as_double();
}

// A Modbus point's register type as the value it publishes: integers with scale or offset become doubles.
std::string modbus_value_type(const ConfigNode& p) {
    std::string t = p["type"].present() ? p["type"].as_string() : "";
    std::string table = p["table"].present() ? p["table"].as_string() : "";
    if (t == "bool" || p["bit"].present() || table == "coil" || table == "discrete_input") return "bool";
    if (t == "string") return "string";
    if (t == "float32" || t == "float64") return "double";
    bool scaled = (p["scale"].present() && p["scale"].as_double() != 1.0) ||
                  (p["offset"].present() && p["offset"].as_double() != 0.0);
    return scaled ? "double" : "int";
}

// The metrics a port's config names, per device, in file order. Drivers that name metrics from what
// the device sends (NMEA, M-Bus) configure none: theirs come from the readings seen.
std::map<std::string, std::vector<MetricEntry>> configured_metrics(const PortConfig& port) {
    std::map<std::string, std::vector<MetricEntry>> out;
    const std::string driver = port.driver.present() ? port.driver.as_string() : "";
    if (driver == "modbus-rtu") {
        for (const ConfigNode& d : port.devices.items()) {
            auto& metrics = out[d["name"].as_string()];
            for (const ConfigNode& p : d["points"].items()) {
                MetricEntry m;
                m.name = p["name"].as_string();
                m.type = modbus_value_type(p);
                m.unit = p.str("unit", "");
                m.writable = p["writable"].present() && p["writable"].as_bool();
                m.scale = real_if(p, "scale");
                m.offset = real_if(p, "offset");
                m.min = real_if(p, "min");
                m.max = real_if(p, "max");
                metrics.push_back(std::move(m));
            }
        }
    } else if (driver == "line") {
        auto devices = port.devices.items();
        if (devices.size() != 1) return out;
        auto& metrics = out[devices[0]["name"].as_string()];
        for (const ConfigNode& f : port.settings["fields"].items()) {
            MetricEntry m;
            m.name = f["metric"].present() ? f["metric"].as_string() : f.str("field", "");
            std::string t = f.str("type", "double");
            m.type = t == "int" ? "int" : t == "bool" ? "bool" : t == "string" ? "string" : "double";
            m.unit = f.str("unit", "");
            m.scale = real_if(f, "scale");
            m.offset = real_if(f, "offset");
            metrics.push_back(std::move(m));
        }
    }
    return out;
}

// A device's address on its line: what an engineer looks for on the device's label or in its manual.
std::string address_json(const std::string& driver, const ConfigNode& d) {
    if (!d.present()) return "null";
    if (driver == "modbus-rtu") {
        if (d["broadcast"].present() && d["broadcast"].as_bool()) return "{\"broadcast\":true}";
        return "{\"unit\":" + std::to_string(d["unit"].as_int(0, 255)) + "}";
    }
    if (driver == "mbus") {
        if (d["secondary"].present()) return "{\"secondary\":" + quoted(d["secondary"].as_string()) + "}";
        if (d["address"].present()) return "{\"primary\":" + std::to_string(d["address"].as_int(0, 255)) + "}";
    }
    return "null";
}

std::string report_json(const ReportPolicy& p) {
    std::string out = "{";
    auto add = [&out](const std::string& key, const std::string& value) {
        out += (out.size() > 1 ? "," : "") + quoted(key) + ":" + value;
    };
    if (p.deadband) add("deadband", p.deadband->percent ? quoted(number(p.deadband->amount) + "%") : number(p.deadband->amount));
    if (p.on_change) add("on_change", *p.on_change ? "true" : "false");
    if (p.max_silence_ms) add("max_silence_ms", std::to_string(*p.max_silence_ms));
    if (p.min_interval_ms) add("min_interval_ms", std::to_string(*p.min_interval_ms));
    return out + "}";
}

struct DeviceContext {
    const Config& config;
    const std::string& device;
    const DeviceReport* report;
    const std::map<std::string, std::string>& descriptions;
    bool signed_batches;
};

void append_metric(std::string& out, const DeviceContext& c, const MetricEntry& m) {
    out += "{\"name\":" + quoted(m.name) + ",\"type\":" + quoted(m.type) + ",\"unit\":" + quoted(m.unit);
    auto d = c.descriptions.find(m.name);
    out += ",\"description\":" + quoted(d != c.descriptions.end() ? d->second : "");
    // Writable as configured, and how to command it: only when the gateway takes commands at all.
    const bool commandable = m.writable && c.config.commands.enabled;
    out += std::string(",\"writable\":") + (commandable ? "true" : "false");
    if (commandable)
        out += ",\"command\":{\"topic\":" + quoted(c.config.command_topic()) + ",\"device\":" + quoted(c.device) +
               ",\"point\":" + quoted(m.name) + ",\"payload\":\"loopgate.v1.Command\",\"reply_topic\":" +
               quoted(c.config.command_reply_topic()) + (c.config.commands.require_signature ? ",\"signed\":true" : "") + "}";
    if (m.scale) out += ",\"scale\":" + number(*m.scale);
    if (m.offset) out += ",\"offset\":" + number(*m.offset);
    if (m.min) out += ",\"min\":" + number(*m.min);
    if (m.max) out += ",\"max\":" + number(*m.max);
    if (c.report) {
        auto r = c.report->metrics.find(m.name);
        const ReportPolicy& policy = r != c.report->metrics.end() ? r->second : c.report->policy;
        if (!policy.empty()) out += ",\"report\":" + report_json(policy);
    }
    out += ",\"topic\":" + quoted(c.config.data_topic()) + "}";
}

}  // namespace

std::string catalog_json(const CatalogSources& s) {
    const Config& config = *s.config;
    static const std::map<std::string, std::map<std::string, Reading>> none_seen;
    static const std::map<std::string, bool> none_online;
    const auto& seen = s.seen ? *s.seen : none_seen;
    const auto& online = s.online ? *s.online : none_online;
    const bool signed_batches = !config.signing.key_file.empty();

    std::string out = "{\"schema\":" + std::to_string(kCatalogSchema);
    out += ",\"gateway\":{\"id\":" + quoted(config.gateway_id) + ",\"version\":" + quoted(s.version) +
           ",\"config_version\":" + std::to_string(s.config_version) + ",\"config_sha256\":" + quoted(s.config_sha256) +
           ",\"labels\":" + string_map_json(config.labels) + "}";
    out += ",\"topics\":{\"data\":" + quoted(config.data_topic()) + ",\"data_payload\":" +
           quoted(signed_batches ? "loopgate.v1.SignedBatch" : "loopgate.v1.Batch") +
           ",\"status\":" + quoted(config.status_topic()) +
           ",\"command\":" + (config.commands.enabled ? quoted(config.command_topic()) : "null") + "}";

    out += ",\"ports\":[";
    for (std::size_t i = 0; i < s.ports.size(); ++i) {
        const PortConfig& p = *s.ports[i].config;
        out += (i ? "," : "") + std::string("{\"name\":") + quoted(p.name) + ",\"driver\":" +
               quoted(p.driver.as_string()) + ",\"transport\":" + quoted(p.rs485.mode != "off" ? "rs485" : "serial") +
               ",\"path\":" + quoted(p.path) + "}";
    }
    out += "]";

    out += ",\"devices\":[";
    bool first_device = true;
    std::set<std::string> listed;
    auto append_device = [&](const std::string& name, const CatalogPort* port) {
        if (!listed.insert(name).second) return;  // two ports claiming a name: the first one's
        ConfigNode node;
        std::string driver;
        if (port) {
            driver = port->config->driver.as_string();
            for (const ConfigNode& d : port->config->devices.items())
                if (d["name"].present() && d["name"].as_string() == name) node = d;
        }
        auto labels = node.present() ? parse_labels(node["labels"]) : std::map<std::string, std::string>{};
        auto descriptions = node.present() ? parse_descriptions(node["descriptions"]) : std::map<std::string, std::string>{};
        const DeviceReport* report = nullptr;
        if (port)
            if (auto r = port->report.find(name); r != port->report.end()) report = &r->second;
        out += first_device ? "" : ",";
        first_device = false;
        out += "{\"name\":" + quoted(name) + ",\"port\":" + (port ? quoted(port->config->name) : "null") +
               ",\"driver\":" + (port ? quoted(driver) : "null") + ",\"address\":" + address_json(driver, node) +
               ",\"labels\":" + string_map_json(labels);
        auto on = online.find(name);
        out += std::string(",\"online\":") + (on == online.end() ? "null" : on->second ? "true" : "false");
        out += ",\"metrics\":[";
        DeviceContext context{config, name, report, descriptions, signed_batches};
        std::set<std::string> metric_names;
        bool first_metric = true;
        auto seen_device = seen.find(name);
        auto emit = [&](MetricEntry m) {
            if (m.name == "online" || !metric_names.insert(m.name).second) return;
            if (seen_device != seen.end()) {
                if (auto r = seen_device->second.find(m.name); r != seen_device->second.end()) {
                    m.type = value_type(r->second.value);
                    if (!r->second.unit.empty()) m.unit = r->second.unit;
                }
            }
            out += first_metric ? "" : ",";
            first_metric = false;
            append_metric(out, context, m);
        };
        if (port) {
            auto configured = configured_metrics(*port->config);
            if (auto c = configured.find(name); c != configured.end())
                for (const MetricEntry& m : c->second) emit(m);
        }
        if (seen_device != seen.end())
            for (const auto& [metric, reading] : seen_device->second) emit(MetricEntry{metric, "", "", false, {}, {}, {}, {}});
        out += "]}";
    };
    for (const CatalogPort& port : s.ports)
        for (const std::string& device : port.devices) append_device(device, &port);
    // Devices a driver made up (AIS vessels...) belong to whichever port's driver claims none of them
    // by config; their port is not known from the reading alone.
    for (const auto& [device, metrics] : seen) append_device(device, nullptr);
    out += "]}";
    return out;
}

}  // namespace loopgate
