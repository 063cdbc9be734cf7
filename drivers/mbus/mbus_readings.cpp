#include "drivers/mbus/mbus_readings.hpp"

#include <set>

namespace loopgate::mbus {

bool reportable(const Record& r) {
    if (!r.value) return false;
    switch (r.meaning.kind) {
        case VifKind::number:
        case VifKind::identifier:
        case VifKind::time_point:
            return true;
        default:
            return false;
    }
}

std::vector<std::string> record_metrics(const Telegram& t) {
    std::vector<std::string> names;
    std::set<std::string> taken;
    for (const Record& r : t.records) {
        if (!reportable(r)) {
            names.emplace_back();
            continue;
        }
        std::string name = r.meaning.metric;
        switch (r.function) {
            case Function::instantaneous: break;
            case Function::maximum: name += "_max"; break;
            case Function::minimum: name += "_min"; break;
            case Function::error_state: name += "_at_error"; break;
        }
        if (r.storage > 0) name += "_s" + std::to_string(r.storage);
        if (r.tariff > 0) name += "_t" + std::to_string(r.tariff);
        if (r.subunit > 0) name += "_u" + std::to_string(r.subunit);
        // Some meters send the same quantity twice (two resolutions, or the same value in two
        // formats): the second keeps its place as name_2.
        std::string unique = name;
        for (int n = 2; taken.count(unique); ++n) unique = name + "_" + std::to_string(n);
        taken.insert(unique);
        names.push_back(unique);
    }
    return names;
}

std::string device_name(const Telegram& t, const std::string& fallback) {
    return t.header.has_id ? "mbus-" + t.header.id : fallback;
}

void fill_reading(const Record& r, Reading& out) {
    out.value = r.value ? *r.value : Value{0.0};
    out.unit = r.meaning.unit;
    if (!r.invalid.empty()) {
        out.quality = Quality::bad;
        out.quality_reason = r.invalid;
    } else {
        out.quality = Quality::good;
        out.quality_reason.clear();
    }
}

}  // namespace loopgate::mbus
