#include "drivers/nmea0183/nmea_decode.hpp"

#include <map>

#include "drivers/nmea0183/nmea_fields.hpp"
#include "drivers/nmea0183/nmea_time.hpp"

namespace loopgate::nmea {

namespace {

constexpr double metres_per_second_per_knot = 1852.0 / 3600.0;

// Collects one sentence's readings. Status readings (fix_quality, fix_type, ...) describe the status
// itself truthfully, so a "no fix" flag degrades the measured values but not them.
class Builder {
public:
    Builder(Decoded& d, const DecodeOptions& o) : d_(d), o_(o) {}

    std::optional<double> number(std::string_view f) {
        auto v = parse_decimal(f);
        if (v.state == FieldState::invalid) ++d_.field_errors;
        return v.ok() ? std::optional<double>(v.value) : std::nullopt;
    }
    std::optional<std::int64_t> integer(std::string_view f) {
        auto v = parse_integer(f);
        if (v.state == FieldState::invalid) ++d_.field_errors;
        return v.ok() ? std::optional<std::int64_t>(v.value) : std::nullopt;
    }

    void field_error() { ++d_.field_errors; }

    void put(const std::string& metric, Value v, std::string unit, bool status = false) {
        Reading r;
        r.metric = metric;
        r.value = std::move(v);
        r.unit = std::move(unit);
        d_.readings.push_back(std::move(r));
        status_.push_back(status);
    }
    void add(const std::string& metric, std::optional<double> v, const char* unit) {
        if (v) put(metric, *v, unit);
    }
    void add_int(const std::string& metric, std::optional<std::int64_t> v, const char* unit, bool status = false) {
        if (v) put(metric, *v, unit, status);
    }
    // Speeds in m/s, plus knots when asked; knots come from the knots field itself when there is one,
    // so they are not rounded twice.
    void speed(const std::string& metric, std::optional<double> mps, std::optional<double> knots) {
        if (!mps) return;
        put(metric, *mps, "m/s");
        if (o_.speed_knots) put(metric + "_knots", knots ? *knots : *mps / metres_per_second_per_knot, "kn");
    }
    void time(std::string_view f) {
        if (f.empty()) return;
        d_.time_of_day_ns = parse_time_of_day(f);
        if (!d_.time_of_day_ns) ++d_.field_errors;
    }
    void position(std::string_view lat, std::string_view ns, std::string_view lon, std::string_view ew) {
        auto la = parse_coordinate(lat, ns, 'N', 'S', 90);
        auto lo = parse_coordinate(lon, ew, 'E', 'W', 180);
        if (la.state == FieldState::invalid) ++d_.field_errors;
        if (lo.state == FieldState::invalid) ++d_.field_errors;
        if (la.ok()) put("latitude", la.value, "deg");
        if (lo.ok()) put("longitude", lo.value, "deg");
    }
    // A signed angle whose sign is a letter (E positive, W negative): magnetic variation, deviation.
    std::optional<double> signed_by(std::string_view value, std::string_view letter) {
        auto v = number(value);
        if (!v) return std::nullopt;
        if (letter == "E") return *v;
        if (letter == "W") return -*v;
        ++d_.field_errors;
        return std::nullopt;
    }
    void degrade(Quality q, std::string reason) {
        if (q == Quality::good) return;
        if (quality_ == Quality::bad) return;  // the worst reason wins
        quality_ = q;
        reason_ = std::move(reason);
    }
    void finish() {
        if (quality_ == Quality::good) return;
        for (std::size_t i = 0; i < d_.readings.size(); ++i) {
            if (status_[i]) continue;
            d_.readings[i].quality = quality_;
            d_.readings[i].quality_reason = reason_;
        }
    }

private:
    Decoded& d_;
    const DecodeOptions& o_;
    std::vector<bool> status_;
    Quality quality_ = Quality::good;
    std::string reason_;
};

// NMEA 2.3+ FAA mode indicator, shared by RMC, GLL, VTG (and per system in GNS).
void mode_indicator(Builder& b, std::string_view mode, const char* sentence) {
    if (mode.empty()) return;
    switch (mode[0]) {
        case 'N': b.degrade(Quality::bad, std::string(sentence) + " mode N (no fix)"); break;
        case 'E': b.degrade(Quality::uncertain, std::string(sentence) + " mode E (dead reckoning)"); break;
        case 'M': b.degrade(Quality::uncertain, std::string(sentence) + " mode M (manual input)"); break;
        case 'S': b.degrade(Quality::uncertain, std::string(sentence) + " mode S (simulator)"); break;
        default: break;  // A autonomous, D differential, F/R RTK, P precise
    }
}

void gga(const Sentence& s, Builder& b) {
    b.time(s.field(1));
    b.position(s.field(2), s.field(3), s.field(4), s.field(5));
    auto q = b.integer(s.field(6));
    b.add_int("fix_quality", q, "", true);
    b.add_int("satellites_used", b.integer(s.field(7)), "count", true);
    b.add("hdop", b.number(s.field(8)), "");
    // Heights are metres by the standard; another unit letter is a talker we cannot trust here.
    if (s.field(10).empty() || s.field(10) == "M") b.add("altitude", b.number(s.field(9)), "m");
    else b.field_error();
    if (s.field(12).empty() || s.field(12) == "M") b.add("geoid_separation", b.number(s.field(11)), "m");
    else b.field_error();
    b.add("dgps_age", b.number(s.field(13)), "s");
    b.add_int("dgps_station", b.integer(s.field(14)), "");
    if (q) {
        if (*q == 0) b.degrade(Quality::bad, "no fix (GGA fix quality 0)");
        else if (*q == 6) b.degrade(Quality::uncertain, "dead reckoning (GGA fix quality 6)");
        else if (*q == 7) b.degrade(Quality::uncertain, "manual input (GGA fix quality 7)");
        else if (*q == 8) b.degrade(Quality::uncertain, "simulator (GGA fix quality 8)");
    }
}

void rmc(const Sentence& s, Builder& b, Decoded& d) {
    b.time(s.field(1));
    if (!s.field(9).empty()) {
        d.day = parse_ddmmyy(s.field(9));
        if (!d.day) d.field_errors++;
    }
    b.position(s.field(3), s.field(4), s.field(5), s.field(6));
    auto kn = b.number(s.field(7));
    b.speed("speed", kn ? std::optional<double>(*kn * metres_per_second_per_knot) : std::nullopt, kn);
    b.add("track", b.number(s.field(8)), "deg");
    b.add("magnetic_variation", b.signed_by(s.field(10), s.field(11)), "deg");
    if (s.field(2) == "V") b.degrade(Quality::bad, "RMC status V (void)");
    else if (s.field(2) != "A" && !s.field(2).empty()) b.degrade(Quality::uncertain, "RMC status unknown");
    mode_indicator(b, s.field(12), "RMC");
}

void gll(const Sentence& s, Builder& b) {
    b.position(s.field(1), s.field(2), s.field(3), s.field(4));
    b.time(s.field(5));
    if (s.field(6) == "V") b.degrade(Quality::bad, "GLL status V (void)");
    mode_indicator(b, s.field(7), "GLL");
}

void vtg(const Sentence& s, Builder& b) {
    // NMEA 2.3+ marks each value with a letter (T, M, N, K); older talkers send four bare numbers.
    const bool lettered = s.field(2) == "T" || s.field(4) == "M" || s.field(6) == "N" || s.field(8) == "K" ||
                          s.field_count() > 4;
    std::string_view track_t = s.field(1);
    std::string_view track_m = lettered ? s.field(3) : s.field(2);
    std::string_view knots = lettered ? s.field(5) : s.field(3);
    std::string_view kmh = lettered ? s.field(7) : s.field(4);
    b.add("track", b.number(track_t), "deg");
    b.add("track_magnetic", b.number(track_m), "deg");
    auto kn = b.number(knots);
    auto kph = b.number(kmh);
    std::optional<double> mps;
    if (kn) mps = *kn * metres_per_second_per_knot;
    else if (kph) mps = *kph / 3.6;
    b.speed("speed", mps, kn);
    if (lettered) mode_indicator(b, s.field(9), "VTG");
}

void gsa(const Sentence& s, Builder& b) {
    auto type = b.integer(s.field(2));
    b.add_int("fix_type", type, "", true);
    b.add("pdop", b.number(s.field(15)), "");
    b.add("hdop", b.number(s.field(16)), "");
    b.add("vdop", b.number(s.field(17)), "");
    if (type && *type == 1) b.degrade(Quality::bad, "no fix (GSA fix type 1)");
}

void gsv(const Sentence& s, Builder& b, Decoded& d) {
    GsvPage page;
    page.system = constellation_name(s.talker);
    auto total = b.integer(s.field(1));
    auto number = b.integer(s.field(2));
    if (!total || !number) return;
    page.total = *total;
    page.number = *number;
    page.in_view = b.integer(s.field(3));
    const std::size_t after_header = s.field_count() >= 3 ? s.field_count() - 3 : 0;
    // NMEA 4.10 appends a signal id after the satellite blocks of four fields.
    const std::size_t blocks = after_header / 4;
    if (after_header % 4 == 1) page.signal = std::string(s.field(s.field_count()));
    if (page.signal.size() > 2) page.signal.clear();
    for (std::size_t i = 0; i < blocks; ++i) {
        const std::size_t base = 4 + i * 4;
        if (s.field(base).empty()) continue;  // an unused block
        auto snr = b.number(s.field(base + 3));
        if (snr) page.snrs.push_back(*snr);
    }
    d.gsv = std::move(page);
}

void zda(const Sentence& s, Builder& b, Decoded& d) {
    b.time(s.field(1));
    auto day = b.integer(s.field(2));
    auto month = b.integer(s.field(3));
    auto year = b.integer(s.field(4));
    if (day && month && year && *day < 100 && *month < 100 && *year < 10000) {
        d.day = days_from_civil(static_cast<int>(*year), static_cast<int>(*month), static_cast<int>(*day));
        if (!d.day) ++d.field_errors;
    }
    if (d.day && d.time_of_day_ns) b.put("utc_time", format_utc(*d.day * ns_per_day + *d.time_of_day_ns), "");
    auto zh = b.integer(s.field(5));
    auto zm = b.integer(s.field(6));
    if (zh && *zh >= -13 && *zh <= 13 && (!zm || (*zm >= 0 && *zm < 60))) {
        // The minutes carry the sign of the hours (-03,30 is three and a half hours west).
        std::int64_t minutes = zm ? *zm : 0;
        bool west = *zh < 0 || s.field(5).starts_with('-');
        b.put("local_zone_offset", (*zh * 60) + (west ? -minutes : minutes), "min");
    }
}

void gns(const Sentence& s, Builder& b) {
    b.time(s.field(1));
    b.position(s.field(2), s.field(3), s.field(4), s.field(5));
    std::string_view mode = s.field(6);
    b.add_int("satellites_used", b.integer(s.field(7)), "count", true);
    b.add("hdop", b.number(s.field(8)), "");
    b.add("altitude", b.number(s.field(9)), "m");
    b.add("geoid_separation", b.number(s.field(10)), "m");
    b.add("dgps_age", b.number(s.field(11)), "s");
    b.add_int("dgps_station", b.integer(s.field(12)), "");
    // One mode letter per constellation: the fix is valid when any constellation contributes.
    if (!mode.empty()) {
        bool any_fix = false, estimated = false;
        for (char c : mode) {
            if (c == 'E' || c == 'M' || c == 'S') estimated = true;
            else if (c != 'N') any_fix = true;
        }
        if (!any_fix && !estimated) b.degrade(Quality::bad, "no fix (GNS mode N)");
        else if (!any_fix) b.degrade(Quality::uncertain, "GNS mode estimated/manual/simulated");
    }
    if (s.field(13) == "V") b.degrade(Quality::bad, "GNS navigational status V (not valid)");
    else if (s.field(13) == "C") b.degrade(Quality::uncertain, "GNS navigational status C (caution)");
    else if (s.field(13) == "U") b.degrade(Quality::uncertain, "GNS navigational status U (unsafe)");
}

void gst(const Sentence& s, Builder& b) {
    b.time(s.field(1));
    b.add("range_rms", b.number(s.field(2)), "m");
    b.add("error_ellipse_major", b.number(s.field(3)), "m");
    b.add("error_ellipse_minor", b.number(s.field(4)), "m");
    b.add("error_ellipse_orientation", b.number(s.field(5)), "deg");
    b.add("latitude_error", b.number(s.field(6)), "m");
    b.add("longitude_error", b.number(s.field(7)), "m");
    b.add("altitude_error", b.number(s.field(8)), "m");
}

void hdg(const Sentence& s, Builder& b) {
    b.add("heading_sensor", b.number(s.field(1)), "deg");
    b.add("magnetic_deviation", b.signed_by(s.field(2), s.field(3)), "deg");
    b.add("magnetic_variation", b.signed_by(s.field(4), s.field(5)), "deg");
}

void rot(const Sentence& s, Builder& b) {
    b.add("rate_of_turn", b.number(s.field(1)), "deg/min");
    if (s.field(2) == "V") b.degrade(Quality::bad, "ROT status V (invalid)");
}

void vhw(const Sentence& s, Builder& b) {
    b.add("heading_true", b.number(s.field(1)), "deg");
    b.add("heading_magnetic", b.number(s.field(3)), "deg");
    auto kn = b.number(s.field(5));
    auto kph = b.number(s.field(7));
    std::optional<double> mps;
    if (kn) mps = *kn * metres_per_second_per_knot;
    else if (kph) mps = *kph / 3.6;
    b.speed("water_speed", mps, kn);
}

void dbt(const Sentence& s, Builder& b) {
    // Prefer the metres field; fall back to feet or fathoms when a sounder leaves it empty.
    auto feet = b.number(s.field(1));
    auto metres = b.number(s.field(3));
    auto fathoms = b.number(s.field(5));
    std::optional<double> depth = metres;
    if (!depth && feet) depth = *feet * 0.3048;
    if (!depth && fathoms) depth = *fathoms * 1.8288;
    b.add("depth_below_transducer", depth, "m");
}

void dpt(const Sentence& s, Builder& b) {
    b.add("depth_below_transducer", b.number(s.field(1)), "m");
    b.add("transducer_offset", b.number(s.field(2)), "m");
    b.add("depth_range", b.number(s.field(3)), "m");
}

void mtw(const Sentence& s, Builder& b) {
    auto t = b.number(s.field(1));
    if (t && s.field(2) == "F") t = (*t - 32.0) * 5.0 / 9.0;
    b.add("water_temperature", t, "degC");
}

std::optional<double> to_mps(std::optional<double> v, std::string_view unit, Builder& b) {
    if (!v) return std::nullopt;
    if (unit == "M") return *v;
    if (unit == "N") return *v * metres_per_second_per_knot;
    if (unit == "K") return *v / 3.6;
    if (unit == "S") return *v * 0.44704;
    b.field_error();  // a speed in a unit we cannot convert is no speed at all
    return std::nullopt;
}

void mwv(const Sentence& s, Builder& b) {
    std::string_view ref = s.field(2);
    std::string suffix = ref == "R" ? "_apparent" : ref == "T" ? "_true" : "";
    if (suffix.empty()) {
        if (!ref.empty() || !s.field(1).empty()) b.field_error();
        return;
    }
    b.add("wind_angle" + suffix, b.number(s.field(1)), "deg");
    auto v = b.number(s.field(3));
    b.speed("wind_speed" + suffix, to_mps(v, s.field(4), b), s.field(4) == "N" ? v : std::nullopt);
    if (s.field(5) == "V") b.degrade(Quality::bad, "MWV status V (invalid)");
}

void mwd(const Sentence& s, Builder& b) {
    b.add("wind_direction_true", b.number(s.field(1)), "deg");
    b.add("wind_direction_magnetic", b.number(s.field(3)), "deg");
    auto kn = b.number(s.field(5));
    auto mps = b.number(s.field(7));
    if (!mps && kn) mps = *kn * metres_per_second_per_knot;
    b.speed("wind_speed_true", mps, kn);
}

// Units of XDR measurements depend on the transducer type ('P' is pascal for pressure, percent for
// humidity).
std::string xdr_unit(std::string_view type, std::string_view unit) {
    if (unit.empty()) return "";
    switch (unit[0]) {
        case 'C': return "degC";
        case 'B': return "bar";
        case 'P': return type == "H" ? "%" : "Pa";
        case 'D': return "deg";
        case 'M': return type == "V" ? "m3" : "m";
        case 'V': return "V";
        case 'A': return "A";
        case 'R': return "rpm";
        case 'H': return "Hz";
        case 'N': return "N";
        case 'S': return "ppt";
        case 'K': return "kg/m3";
        case 'G': return "";
        default: return std::string(unit);
    }
}

void xdr(const Sentence& s, Builder& b) {
    // Quadruplets of type, value, unit, transducer name; each transducer is its own metric.
    for (std::size_t i = 1, n = 0; i <= s.field_count(); i += 4, ++n) {
        std::string_view type = s.field(i);
        auto value = b.number(s.field(i + 1));
        if (!value) continue;
        std::string_view name = s.field(i + 3);
        std::string part = name.empty() ? sanitize_metric_part(type, 8) + std::to_string(n)
                                        : sanitize_metric_part(name, 48);
        b.put("xdr." + part, *value, xdr_unit(type, s.field(i + 2)));
    }
}

void txt(const Sentence& s, Builder& b) {
    if (!s.field(4).empty()) b.put("text", std::string(s.field(4)), "");
}

using Handler = void (*)(const Sentence&, Builder&, Decoded&);

const std::map<std::string_view, Handler>& handlers() {
    static const std::map<std::string_view, Handler> table = {
        {"GGA", [](const Sentence& s, Builder& b, Decoded&) { gga(s, b); }},
        {"RMC", [](const Sentence& s, Builder& b, Decoded& d) { rmc(s, b, d); }},
        {"GLL", [](const Sentence& s, Builder& b, Decoded&) { gll(s, b); }},
        {"VTG", [](const Sentence& s, Builder& b, Decoded&) { vtg(s, b); }},
        {"GSA", [](const Sentence& s, Builder& b, Decoded&) { gsa(s, b); }},
        {"GSV", [](const Sentence& s, Builder& b, Decoded& d) { gsv(s, b, d); }},
        {"ZDA", [](const Sentence& s, Builder& b, Decoded& d) { zda(s, b, d); }},
        {"GNS", [](const Sentence& s, Builder& b, Decoded&) { gns(s, b); }},
        {"GST", [](const Sentence& s, Builder& b, Decoded&) { gst(s, b); }},
        {"HDT", [](const Sentence& s, Builder& b, Decoded&) { b.add("heading_true", b.number(s.field(1)), "deg"); }},
        {"HDG", [](const Sentence& s, Builder& b, Decoded&) { hdg(s, b); }},
        {"HDM", [](const Sentence& s, Builder& b, Decoded&) { b.add("heading_magnetic", b.number(s.field(1)), "deg"); }},
        {"ROT", [](const Sentence& s, Builder& b, Decoded&) { rot(s, b); }},
        {"VHW", [](const Sentence& s, Builder& b, Decoded&) { vhw(s, b); }},
        {"DBT", [](const Sentence& s, Builder& b, Decoded&) { dbt(s, b); }},
        {"DPT", [](const Sentence& s, Builder& b, Decoded&) { dpt(s, b); }},
        {"MTW", [](const Sentence& s, Builder& b, Decoded&) { mtw(s, b); }},
        {"MWV", [](const Sentence& s, Builder& b, Decoded&) { mwv(s, b); }},
        {"MWD", [](const Sentence& s, Builder& b, Decoded&) { mwd(s, b); }},
        {"XDR", [](const Sentence& s, Builder& b, Decoded&) { xdr(s, b); }},
        {"TXT", [](const Sentence& s, Builder& b, Decoded&) { txt(s, b); }},
    };
    return table;
}

}  // namespace

std::string sanitize_metric_part(std::string_view raw, std::size_t max_length) {
    std::string out;
    for (char c : raw) {
        if (out.size() >= max_length) break;
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
        out += safe ? c : '_';
    }
    return out;
}

Decoded decode_sentence(const Sentence& s, const DecodeOptions& options) {
    Decoded d;
    if (s.proprietary) {
        d.known = true;
        if (options.pass_proprietary) {
            Reading r;
            r.metric = "proprietary." + sanitize_metric_part(s.type, 40);
            r.value = std::string(s.text);
            d.readings.push_back(std::move(r));
        }
        return d;
    }
    auto it = handlers().find(s.type);
    if (it == handlers().end()) return d;
    d.known = true;
    Builder b(d, options);
    it->second(s, b, d);
    b.finish();
    return d;
}

const std::vector<std::string>& static_metric_names() {
    static const std::vector<std::string> names = {
        "latitude", "longitude", "altitude", "geoid_separation", "fix_quality", "fix_type", "satellites_used",
        "hdop", "pdop", "vdop", "dgps_age", "dgps_station", "speed", "speed_knots", "track", "track_magnetic",
        "magnetic_variation", "magnetic_deviation", "utc_time", "local_zone_offset", "range_rms",
        "error_ellipse_major", "error_ellipse_minor", "error_ellipse_orientation", "latitude_error",
        "longitude_error", "altitude_error", "heading_true", "heading_magnetic", "heading_sensor", "rate_of_turn",
        "water_speed", "water_speed_knots", "depth_below_transducer", "transducer_offset", "depth_range",
        "water_temperature", "wind_angle_apparent", "wind_speed_apparent", "wind_speed_apparent_knots",
        "wind_angle_true", "wind_speed_true", "wind_speed_true_knots", "wind_direction_true",
        "wind_direction_magnetic", "text",
    };
    return names;
}

}  // namespace loopgate::nmea
