#include "drivers/nmea0183/ais_messages.hpp"

#include <cmath>

#include "drivers/nmea0183/nmea_time.hpp"

namespace loopgate::nmea::ais {

namespace {

constexpr double metres_per_second_per_knot = 1852.0 / 3600.0;
constexpr std::int64_t ns_per_s = 1'000'000'000;

class Builder {
public:
    Builder(const SixBits& bits, Message& m) : b_(bits), m_(m) {}

    void put(const char* metric, Value v, const char* unit, Quality q = Quality::good, std::string reason = {}) {
        Reading& r = m_.readings.emplace_back();
        r.metric = metric;
        r.value = std::move(v);
        r.unit = unit;
        r.quality = q;
        r.quality_reason = std::move(reason);
    }
    void integer(const char* metric, std::int64_t v) { put(metric, v, ""); }
    void text(const char* metric, std::string v) {
        if (!v.empty()) put(metric, std::move(v), "");
    }

    // Positions in 1/10,000 minute (28 and 27 bits) or, for type 27, 1/10 minute (18 and 17 bits).
    void position(std::size_t lon_at, std::size_t lat_at, bool long_range) {
        const double per_degree = long_range ? 600.0 : 600'000.0;
        const std::int32_t lon = b_.s(lon_at, long_range ? 18 : 28);
        const std::int32_t lat = b_.s(lat_at, long_range ? 17 : 27);
        const std::int32_t lon_na = static_cast<std::int32_t>(181 * per_degree);
        const std::int32_t lat_na = static_cast<std::int32_t>(91 * per_degree);
        if (lat != lat_na && std::abs(lat) <= 90 * per_degree)
            put("latitude", lat / per_degree, "deg", position_quality_, position_reason_);
        if (lon != lon_na && std::abs(lon) <= 180 * per_degree)
            put("longitude", lon / per_degree, "deg", position_quality_, position_reason_);
    }
    // Speed over ground in 0.1 knot: 1023 not available, 1022 "102.2 knots or more".
    void speed_tenths(std::size_t at) {
        const std::uint32_t v = b_.u(at, 10);
        if (v != 1023) put("speed_over_ground", v / 10.0 * metres_per_second_per_knot, "m/s");
    }
    // Course over ground in 0.1 degree: 3600 not available, above it invalid.
    void course_tenths(std::size_t at) {
        const std::uint32_t v = b_.u(at, 12);
        if (v < 3600) put("course_over_ground", v / 10.0, "deg");
    }
    // True heading in degrees: 511 not available.
    void heading(std::size_t at) {
        const std::uint32_t v = b_.u(at, 9);
        if (v < 360) put("heading", static_cast<double>(v), "deg");
    }
    // The UTC second of the report: 0-59, or 60 not available, 61 manual input, 62 dead reckoning,
    // 63 positioning system inoperative (the last three say how far the position can be trusted).
    void second(std::size_t at) {
        const std::uint32_t v = b_.u(at, 6);
        if (v < 60) m_.utc_second = v;
        else if (v == 61) degrade_position(Quality::uncertain, "AIS position from manual input");
        else if (v == 62) degrade_position(Quality::uncertain, "AIS position from dead reckoning");
        else if (v == 63) degrade_position(Quality::bad, "AIS positioning system inoperative");
    }
    // Dimensions to bow, stern, port, starboard (9, 9, 6, 6 bits): overall length and beam; 0 not available.
    void dimensions(std::size_t at) {
        const std::uint32_t length = b_.u(at, 9) + b_.u(at + 9, 9);
        const std::uint32_t beam = b_.u(at + 18, 6) + b_.u(at + 24, 6);
        if (length > 0) put("length", static_cast<std::int64_t>(length), "m");
        if (beam > 0) put("beam", static_cast<std::int64_t>(beam), "m");
    }
    void ship_type(std::size_t at) {
        const std::uint32_t v = b_.u(at, 8);
        if (v != 0) integer("ship_type", v);
    }

private:
    void degrade_position(Quality q, const char* reason) {
        position_quality_ = q;
        position_reason_ = reason;
    }

    const SixBits& b_;
    Message& m_;
    Quality position_quality_ = Quality::good;
    std::string position_reason_;
};

void class_a_position(const SixBits& b, Builder& out) {
    out.integer("nav_status", b.u(38, 4));
    // Rate of turn is sent as 4.733 * sqrt(deg/min), signed: -128 not available, +-127 "turning faster
    // than 5 degrees per 30 s" without a rate.
    const std::int32_t rot = b.s(42, 8);
    if (rot > -127 && rot < 127) {
        const double rate = (rot / 4.733) * (rot / 4.733);
        out.put("rate_of_turn", rot < 0 ? -rate : rate, "deg/min");
    }
    out.speed_tenths(50);
    out.second(137);  // before the position: it sets the position's quality
    out.position(61, 89, false);
    out.course_tenths(116);
    out.heading(128);
}

void base_station(const SixBits& b, Builder& out, Message& m) {
    const std::uint32_t year = b.u(38, 14), month = b.u(52, 4), day = b.u(56, 5);
    const std::uint32_t hour = b.u(61, 5), minute = b.u(66, 6), sec = b.u(72, 6);
    if (year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour < 24 && minute < 60 && sec < 60) {
        auto days = days_from_civil(static_cast<int>(year), static_cast<int>(month), static_cast<int>(day));
        if (days) m.utc_time_ns = *days * ns_per_day + ((hour * 60 + minute) * 60 + sec) * ns_per_s;
    }
    out.position(79, 107, false);
}

void static_voyage(const SixBits& b, Builder& out) {
    const std::uint32_t imo = b.u(40, 30);
    if (imo != 0) out.integer("imo", imo);
    out.text("call_sign", b.text(70, 7));
    out.text("ship_name", b.text(112, 20));
    out.ship_type(232);
    out.dimensions(240);
    const std::uint32_t draught = b.u(294, 8);
    if (draught != 0) out.put("draught", draught / 10.0, "m");
    out.text("destination", b.text(302, 20));
}

void class_b_position(Builder& out) {
    out.speed_tenths(46);
    out.second(133);
    out.position(57, 85, false);
    out.course_tenths(112);
    out.heading(124);
}

void aid_to_navigation(const SixBits& b, Builder& out) {
    out.integer("aid_type", b.u(38, 5));
    // 20 characters, then up to 14 more in the extension after bit 272 when the first 20 are all used.
    std::string name = b.text_untrimmed(43, 20);
    if (name.size() == 20 && b.size() > 272) name += b.text_untrimmed(272, std::min<std::size_t>((b.size() - 272) / 6, 14));
    trim_padding(name);
    out.text("name", std::move(name));
    out.second(253);
    out.position(164, 192, false);
    // Only meaningful while the station's clock second is valid (M.1371 table 72).
    if (b.u(253, 6) < 60) out.put("off_position", b.u(259, 1) != 0, "");
}

bool class_b_static(const SixBits& b, Builder& out, std::uint32_t mmsi) {
    const std::uint32_t part = b.u(38, 2);
    if (part == 0) {
        if (b.size() < 160 || b.size() > 168) return false;
        out.text("ship_name", b.text(40, 20));
        return true;
    }
    if (part != 1 || b.size() < 168) return false;
    out.ship_type(40);
    out.text("call_sign", b.text(90, 7));
    // An auxiliary craft (MMSI 98xxxxxxx) sends its mother ship's MMSI where others send dimensions.
    if (mmsi / 10'000'000 != 98) out.dimensions(132);
    return true;
}

void long_range(const SixBits& b, Builder& out) {
    out.integer("nav_status", b.u(40, 4));
    out.position(44, 62, true);
    const std::uint32_t knots = b.u(79, 6);
    if (knots != 63) out.put("speed_over_ground", knots * metres_per_second_per_knot, "m/s");
    const std::uint32_t course = b.u(85, 9);
    if (course < 360) out.put("course_over_ground", static_cast<double>(course), "deg");
}

}  // namespace

Message decode_message(const SixBits& b) {
    Message m;
    if (b.size() < 38) return m;
    m.type = b.u(0, 6);
    m.mmsi = b.u(8, 30);
    const std::size_t n = b.size();
    m.readings.reserve(10);
    Builder out(b, m);
    switch (m.type) {
        case 1: case 2: case 3:
            if (n < 163 || n > 204) return m;
            class_a_position(b, out);
            break;
        case 4:
            if (n < 168) return m;
            base_station(b, out, m);
            break;
        case 5:
            // Many transmitters send 420 or 422 bits instead of 424; what is missing is spare.
            if (n < 420) return m;
            static_voyage(b, out);
            break;
        case 18:
            if (n < 168) return m;
            class_b_position(out);
            break;
        case 19:
            if (n < 312) return m;
            class_b_position(out);
            out.text("ship_name", b.text(143, 20));
            out.ship_type(263);
            out.dimensions(271);
            break;
        case 21:
            if (n < 272 || n > 368) return m;
            aid_to_navigation(b, out);
            break;
        case 24:
            if (!class_b_static(b, out, m.mmsi)) {
                m.readings.clear();
                return m;
            }
            break;
        case 27:
            // 96 bits; some transmitters fill a whole 168-bit slot.
            if (n != 96 && n != 168) return m;
            long_range(b, out);
            break;
        default:
            m.status = MessageStatus::other_type;
            return m;
    }
    out.integer("message_type", m.type);
    m.status = MessageStatus::decoded;
    return m;
}

std::string vessel_device(std::uint32_t mmsi) { return "ais-" + std::to_string(mmsi); }

std::int64_t source_time(const Message& m, std::int64_t receive_ns) {
    if (m.utc_time_ns) return *m.utc_time_ns;
    if (!m.utc_second) return receive_ns;
    constexpr std::int64_t minute = 60 * ns_per_s;
    constexpr std::int64_t ahead = 5 * ns_per_s;
    std::int64_t minute_start = receive_ns / minute * minute;
    if (minute_start > receive_ns) minute_start -= minute;  // negative times round down too
    std::int64_t t = minute_start + static_cast<std::int64_t>(*m.utc_second) * ns_per_s;
    if (t > receive_ns + ahead) t -= minute;
    else if (t <= receive_ns + ahead - minute) t += minute;
    return t;
}

const std::vector<std::string>& ais_metric_names() {
    static const std::vector<std::string> names = {
        "latitude", "longitude", "speed_over_ground", "course_over_ground", "heading", "rate_of_turn",
        "nav_status", "message_type", "ship_name", "call_sign", "destination", "ship_type", "imo",
        "draught", "length", "beam", "aid_type", "name", "off_position",
    };
    return names;
}

}  // namespace loopgate::nmea::ais
