#include "drivers/nmea0183/nmea_gsv.hpp"

#include <algorithm>

namespace loopgate::nmea {

std::string constellation_name(std::string_view talker) {
    if (talker == "GP") return "gps";
    if (talker == "GL") return "glonass";
    if (talker == "GA") return "galileo";
    if (talker == "GB" || talker == "BD") return "beidou";
    if (talker == "GQ" || talker == "QZ") return "qzss";
    if (talker == "GI") return "navic";
    if (talker == "GN") return "gnss";
    std::string out(talker);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string sky_prefix(const std::string& system, const std::string& signal) {
    return "sky." + system + "." + (signal.empty() ? "" : "sig" + signal + ".");
}

std::vector<Reading> GsvAssembler::add(const GsvPage& page) {
    std::vector<Reading> out;
    if (page.total < 1 || page.number < 1 || page.number > page.total || page.total > 99) {
        ++incomplete_;
        return out;
    }
    const std::string prefix = sky_prefix(page.system, page.signal);
    // Talker and signal come off the wire; bound the number of groups kept in flight.
    if (groups_.size() >= 64 && !groups_.count(prefix)) groups_.clear();
    Group& g = groups_[prefix];
    if (page.number == 1) {
        if (g.next > 1) ++incomplete_;  // the previous group never finished
        g = Group{};
        g.total = page.total;
    } else if (page.number != g.next || page.total != g.total) {
        // Count a broken group once, then wait for its next first page (next == 0).
        if (g.next != 0) ++incomplete_;
        g = Group{};
        g.next = 0;
        return out;
    }
    if (page.in_view) g.in_view = page.in_view;
    g.snrs.insert(g.snrs.end(), page.snrs.begin(), page.snrs.end());
    g.next = page.number + 1;
    if (page.number != page.total) return out;

    auto add = [&](const std::string& metric, Value v, const char* unit) {
        Reading r;
        r.metric = prefix + metric;
        r.value = std::move(v);
        r.unit = unit;
        out.push_back(std::move(r));
    };
    if (g.in_view) add("satellites_in_view", *g.in_view, "count");
    add("satellites_tracked", static_cast<std::int64_t>(g.snrs.size()), "count");
    if (!g.snrs.empty()) {
        double sum = 0;
        for (double s : g.snrs) sum += s;
        add("snr_mean", sum / static_cast<double>(g.snrs.size()), "dB");
        add("snr_max", *std::max_element(g.snrs.begin(), g.snrs.end()), "dB");
    }
    g = Group{};
    return out;
}

}  // namespace loopgate::nmea
