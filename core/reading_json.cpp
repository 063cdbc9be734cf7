#include "core/reading_json.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace loopgate {

std::string json_escape(const std::string& s) {
    std::string out;
    out.reserve(s.size() + 2);
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

namespace {

std::string value_json(const Value& v) {
    if (auto d = std::get_if<double>(&v)) {
        if (!std::isfinite(*d)) return "null";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", *d);
        return buf;
    }
    if (auto i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    if (auto b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return "\"" + json_escape(std::get<std::string>(v)) + "\"";
}

std::string utc_text(std::int64_t ns) {
    std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];  // room for any int the compiler cannot rule out
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((ns / 1'000'000) % 1000));
    return buf;
}

}  // namespace

std::string value_text(const Value& v) {
    if (auto d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.10g", *d);
        return buf;
    }
    if (auto i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    if (auto b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return "\"" + std::get<std::string>(v) + "\"";
}

void append_json(std::string& out, const Reading& r) {
    out += "{\"device\":\"";
    out += json_escape(r.device);
    out += "\",\"metric\":\"";
    out += json_escape(r.metric);
    out += "\",\"value\":";
    out += value_json(r.value);
    out += ",\"unit\":\"";
    out += json_escape(r.unit);
    out += "\",\"quality\":\"";
    out += quality_name(r.quality);
    out += '"';
    if (!r.quality_reason.empty()) {
        out += ",\"quality_reason\":\"";
        out += json_escape(r.quality_reason);
        out += '"';
    }
    out += ",\"source_time\":";
    out += r.source_time_ns ? std::to_string(*r.source_time_ns) : std::string("null");
    out += ",\"receive_time\":";
    out += std::to_string(r.receive_time_ns);
    if (r.sequence) {
        out += ",\"sequence\":";
        out += std::to_string(r.sequence);
    }
    out += '}';
}

std::string to_json_line(const Reading& r) {
    std::string out;
    append_json(out, r);
    return out;
}

std::string to_human_line(const Reading& r) {
    std::string out = utc_text(r.source_time_ns.value_or(r.receive_time_ns)) + "  " + r.device + "/" + r.metric +
                      " = " + value_text(r.value);
    if (!r.unit.empty()) out += " " + r.unit;
    if (r.quality != Quality::good) {
        out += "  [" + std::string(quality_name(r.quality));
        if (!r.quality_reason.empty()) out += ": " + r.quality_reason;
        out += "]";
    }
    out += "  #" + std::to_string(r.sequence);
    return out;
}

}  // namespace loopgate
