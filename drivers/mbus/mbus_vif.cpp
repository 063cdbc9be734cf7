#include "drivers/mbus/mbus_vif.hpp"

#include <cstdio>
#include <utility>

namespace loopgate::mbus {

double pow10(int n) {
    static constexpr double kPow[] = {1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5,
                                      1e-4,  1e-3,  1e-2,  1e-1,  1e0,   1e1,   1e2,  1e3,  1e4,  1e5,  1e6,
                                      1e7,   1e8,   1e9,   1e10,  1e11,  1e12,  1e13, 1e14, 1e15};
    if (n < -15 || n > 15) return 0;
    return kPow[n + 15];
}

VifMeaning make_meaning(VifKind kind, std::string metric, std::string unit, double factor) {
    VifMeaning m;
    m.kind = kind;
    m.metric = std::move(metric);
    m.unit = std::move(unit);
    m.factor = factor;
    return m;
}

namespace {

VifMeaning number(const char* metric, const char* unit, double factor) {
    return make_meaning(VifKind::number, metric, unit, factor);
}
VifMeaning identifier(const char* metric) { return make_meaning(VifKind::identifier, metric, "", 1); }
VifMeaning time_point(const char* metric) { return make_meaning(VifKind::time_point, metric, "", 1); }
VifMeaning reserved(const char* table, std::uint8_t code) {
    char name[32];
    std::snprintf(name, sizeof name, "reserved_%s%02x", table, code);
    return make_meaning(VifKind::reserved, name, "", 1);
}

// Durations: nn = 00 seconds, 01 minutes, 10 hours, 11 days; all reported in seconds.
double duration_factor(unsigned nn) {
    static constexpr double kSeconds[] = {1, 60, 3600, 86400};
    return kSeconds[nn & 3];
}

VifMeaning duration(const char* metric, unsigned nn) { return number(metric, "s", duration_factor(nn)); }

}  // namespace

VifMeaning primary_vif(std::uint8_t vif) {
    const unsigned n3 = vif & 0x07, n2 = vif & 0x03;
    switch (vif & 0x78) {
        case 0x00: return number("energy", "Wh", pow10(int(n3) - 3));
        case 0x08: return number("energy", "J", pow10(int(n3)));
        case 0x10: return number("volume", "m3", pow10(int(n3) - 6));
        case 0x18: return number("mass", "kg", pow10(int(n3) - 3));
        case 0x20: return duration(vif & 0x04 ? "operating_time" : "on_time", n2);
        case 0x28: return number("power", "W", pow10(int(n3) - 3));
        // J/h is a power: reported in W like every other power.
        case 0x30: return number("power", "W", pow10(int(n3)) / 3600.0);
        case 0x38: return number("volume_flow", "m3/h", pow10(int(n3) - 6));
        case 0x40: return number("volume_flow", "m3/h", pow10(int(n3) - 7) * 60);
        case 0x48: return number("volume_flow", "m3/h", pow10(int(n3) - 9) * 3600);
        case 0x50: return number("mass_flow", "kg/h", pow10(int(n3) - 3));
        case 0x58:
            return number(vif & 0x04 ? "return_temperature" : "flow_temperature", "degC", pow10(int(n2) - 3));
        case 0x60:
            if (vif & 0x04) return number("external_temperature", "degC", pow10(int(n2) - 3));
            return number("temperature_difference", "K", pow10(int(n2) - 3));
        case 0x68:
            if (!(vif & 0x04)) return number("pressure", "bar", pow10(int(n2) - 3));
            if (vif == 0x6C) return time_point("date");
            if (vif == 0x6D) return time_point("date_time");
            if (vif == 0x6E) return number("hca", "HCA", 1);
            return reserved("vif", vif);
        case 0x70: return duration(vif & 0x04 ? "actuality_duration" : "averaging_duration", n2);
        case 0x78:
            switch (vif) {
                case 0x78: return identifier("fabrication_number");
                case 0x79: return identifier("identification");
                case 0x7A: return identifier("bus_address");
                case 0x7E: return make_meaning(VifKind::any, "any", "", 1);
                case 0x7F: return make_meaning(VifKind::manufacturer, "manufacturer_specific", "", 1);
                default: return reserved("vif", vif);
            }
    }
    return reserved("vif", vif);
}

VifMeaning fd_vif(std::uint8_t c) {
    const unsigned n2 = c & 0x03;
    if (c <= 0x03) return number("credit", "", pow10(int(n2) - 3));
    if (c <= 0x07) return number("debit", "", pow10(int(n2) - 3));
    switch (c) {
        case 0x08: return identifier("access_number");
        case 0x09: return identifier("medium");
        case 0x0A: return identifier("manufacturer");
        case 0x0B: return identifier("parameter_set_identification");
        case 0x0C: return identifier("model_version");
        case 0x0D: return identifier("hardware_version");
        case 0x0E: return identifier("firmware_version");
        case 0x0F: return identifier("software_version");
        case 0x10: return identifier("customer_location");
        case 0x11: return identifier("customer");
        case 0x12: return identifier("access_code_user");
        case 0x13: return identifier("access_code_operator");
        case 0x14: return identifier("access_code_system_operator");
        case 0x15: return identifier("access_code_developer");
        case 0x16: return identifier("password");
        case 0x17: return identifier("error_flags");
        case 0x18: return identifier("error_mask");
        case 0x1A: return identifier("digital_output");
        case 0x1B: return identifier("digital_input");
        case 0x1C: return number("baud_rate", "Bd", 1);
        case 0x1D: return number("response_delay_time", "bit times", 1);
        case 0x1E: return identifier("retry");
        case 0x20: return identifier("first_storage_number");
        case 0x21: return identifier("last_storage_number");
        case 0x22: return identifier("storage_block_size");
        case 0x28: return number("storage_interval", "month", 1);
        case 0x29: return number("storage_interval", "year", 1);
        case 0x30: return time_point("tariff_start");
        case 0x38: return number("tariff_period", "month", 1);
        case 0x39: return number("tariff_period", "year", 1);
        case 0x3A: return identifier("dimensionless");
        case 0x60: return identifier("reset_counter");
        case 0x61: return identifier("cumulation_counter");
        case 0x62: return identifier("control_signal");
        case 0x63: return identifier("day_of_week");
        case 0x64: return identifier("week_number");
        case 0x65: return time_point("day_change_time");
        case 0x66: return identifier("parameter_activation_state");
        case 0x67: return identifier("special_supplier_information");
        case 0x70: return time_point("battery_change_date");
        case 0x71: return number("rf_level", "dBm", 1);
        case 0x74: return number("remaining_battery_lifetime", "s", 86400);
        case 0x75: return identifier("meter_stopped_count");
        default: break;
    }
    switch (c & 0x7C) {
        case 0x24: return duration("storage_interval", n2);
        case 0x2C: return duration("duration_since_readout", n2);
        case 0x30: return duration("tariff_duration", n2);  // 30h itself is the tariff start, above
        case 0x34: return duration("tariff_period", n2);
        case 0x68: {
            // Duration since last cumulation and battery operating time: hours, days, months, years.
            const char* metric = c & 0x04 ? "battery_operating_time" : "duration_since_cumulation";
            if (n2 == 0) return number(metric, "s", 3600);
            if (n2 == 1) return number(metric, "s", 86400);
            return number(metric, n2 == 2 ? "month" : "year", 1);
        }
        case 0x6C: {
            const char* metric = "battery_operating_time";
            if (n2 == 0) return number(metric, "s", 3600);
            if (n2 == 1) return number(metric, "s", 86400);
            return number(metric, n2 == 2 ? "month" : "year", 1);
        }
        default: break;
    }
    if ((c & 0x70) == 0x40) return number("voltage", "V", pow10(int(c & 0x0F) - 9));
    if ((c & 0x70) == 0x50) return number("current", "A", pow10(int(c & 0x0F) - 12));
    return reserved("fd", c);
}

VifMeaning fb_vif(std::uint8_t c) {
    const unsigned n1 = c & 0x01, n2 = c & 0x03;
    switch (c & 0x7E) {
        case 0x00: return number("energy", "Wh", pow10(int(n1) + 5));  // 0.1 MWh, 1 MWh
        case 0x08: return number("energy", "J", pow10(int(n1) + 8));   // 0.1 GJ, 1 GJ
        case 0x10: return number("volume", "m3", pow10(int(n1) + 2));
        case 0x18: return number("mass", "kg", pow10(int(n1) + 5));    // 100 t, 1000 t
        case 0x28: return number("power", "W", pow10(int(n1) + 5));    // 0.1 MW, 1 MW
        case 0x30: return number("power", "W", pow10(int(n1) + 8) / 3600.0);  // 0.1 GJ/h, 1 GJ/h
        default: break;
    }
    // Non-metric units are converted: 1 ft3 = 0.028316846592 m3, 1 US gallon = 0.003785411784 m3.
    constexpr double kFt3 = 0.028316846592, kGal = 0.003785411784;
    switch (c) {
        case 0x21: return number("volume", "m3", 0.1 * kFt3);
        case 0x22: return number("volume", "m3", 0.1 * kGal);
        case 0x23: return number("volume", "m3", kGal);
        case 0x24: return number("volume_flow", "m3/h", 0.001 * kGal * 60);
        case 0x25: return number("volume_flow", "m3/h", kGal * 60);
        case 0x26: return number("volume_flow", "m3/h", kGal);
        default: break;
    }
    // Fahrenheit temperatures: differences scale by 5/9; absolute ones also shift by 32 (offset
    // applied in degC after scaling: (F - 32) * 5/9 = F * 5/9 - 160/9).
    constexpr double kF = 5.0 / 9.0, kFOffset = -160.0 / 9.0;
    switch (c & 0x7C) {
        case 0x58: {
            VifMeaning m = number("flow_temperature", "degC", pow10(int(n2) - 3) * kF);
            m.offset = kFOffset;
            return m;
        }
        case 0x5C: {
            VifMeaning m = number("return_temperature", "degC", pow10(int(n2) - 3) * kF);
            m.offset = kFOffset;
            return m;
        }
        case 0x60: return number("temperature_difference", "K", pow10(int(n2) - 3) * kF);
        case 0x64: {
            VifMeaning m = number("external_temperature", "degC", pow10(int(n2) - 3) * kF);
            m.offset = kFOffset;
            return m;
        }
        case 0x70: {
            VifMeaning m = number("temperature_limit", "degC", pow10(int(n2) - 3) * kF);
            m.offset = kFOffset;
            return m;
        }
        case 0x74: return number("temperature_limit", "degC", pow10(int(n2) - 3));
        default: break;
    }
    if ((c & 0x78) == 0x78) return number("cumulative_max_power_count", "W", pow10(int(c & 0x07) - 3));
    return reserved("fb", c);
}

void apply_combinable_vife(std::uint8_t v, VifMeaning& m) {
    auto suffix = [&](const char* s) { m.metric += s; };
    if (m.manufacturer_vifes) {
        char text[4];
        std::snprintf(text, sizeof text, "%02x", v);
        suffix(text);
        return;
    }
    // A VIFE that turns the record into a date or a duration of something else (a limit exceeded, a
    // maximum) replaces the quantity's unit: the value is no longer energy or volume.
    auto becomes_time_point = [&](const std::string& s) {
        m.kind = VifKind::time_point;
        m.metric += s;
        m.unit.clear();
        m.factor = 1;
        m.offset = 0;
    };
    auto becomes_duration = [&](const std::string& s, unsigned nn) {
        m.kind = VifKind::number;
        m.metric += s;
        m.unit = "s";
        m.factor = duration_factor(nn);
        m.offset = 0;
    };
    auto becomes_count = [&](const std::string& s) {
        m.kind = VifKind::identifier;
        m.metric += s;
        m.unit.clear();
        m.factor = 1;
        m.offset = 0;
    };
    if (v <= 0x0F || (v >= 0x15 && v <= 0x1C)) {
        // Record error codes (slave to master); 00h is "none".
        if (v != 0x00) {
            m.record_error = true;
            char text[40];
            std::snprintf(text, sizeof text, "record error code %02Xh", v);
            m.error_text = text;
        }
        return;
    }
    static const char* kPer[] = {"_per_second", "_per_minute", "_per_hour", "_per_day",
                                 "_per_week",   "_per_month",  "_per_year", "_per_measurement"};
    static const char* kPerUnit[] = {"/s", "/min", "/h", "/d", "/week", "/month", "/year", "/measurement"};
    if (v >= 0x20 && v <= 0x27) {
        suffix(kPer[v - 0x20]);
        if (!m.unit.empty()) m.unit += kPerUnit[v - 0x20];
        return;
    }
    if (v >= 0x28 && v <= 0x2B) {
        // Increment per input or output pulse: the value is the quantity one pulse stands for.
        m.metric += std::string(v & 0x02 ? "_per_output_pulse_" : "_per_input_pulse_") + char('0' + (v & 1));
        return;
    }
    if (v >= 0x2C && v <= 0x35) {
        static const char* kPerThing[] = {"_per_litre", "_per_m3", "_per_kg", "_per_k", "_per_kwh",
                                          "_per_gj",    "_per_kw", "_per_kl", "_per_v", "_per_a"};
        static const char* kPerThingUnit[] = {"/l", "/m3", "/kg", "/K", "/kWh", "/GJ", "/kW", "/(K*l)", "/V", "/A"};
        suffix(kPerThing[v - 0x2C]);
        m.unit += kPerThingUnit[v - 0x2C];
        return;
    }
    switch (v) {
        case 0x12: suffix("_average"); return;
        case 0x13: suffix("_inverse_compact_profile"); return;
        case 0x14: suffix("_relative_deviation"); return;
        case 0x1D: return;  // standard conform data content
        case 0x1E: suffix("_compact_profile_registers"); return;
        case 0x1F: suffix("_compact_profile"); return;
        case 0x36: suffix("_times_s"); m.unit += "*s"; return;
        case 0x37: suffix("_times_s_per_v"); m.unit += "*s/V"; return;
        case 0x38: suffix("_times_s_per_a"); m.unit += "*s/A"; return;
        case 0x39: becomes_time_point("_start_time"); return;
        case 0x3A: suffix("_uncorrected"); return;
        case 0x3B: suffix("_positive"); return;
        case 0x3C: suffix("_negative"); return;
        case 0x3E: suffix("_at_base_conditions"); return;
        case 0x3F: suffix("_obis"); return;
        case 0x69: suffix("_leakage"); return;
        case 0x6D: suffix("_overflow"); return;
        case 0x7D: m.factor *= 1000; return;
        case 0x7E: suffix("_future"); return;
        case 0x7F:
            // The primary VIF still gives quantity and unit (libmbus and the meters' manuals agree:
            // ABB and Saia-Burgess send per-phase voltages as FDh 48h FFh 81h ...).
            m.manufacturer_vifes = true;
            suffix("_mfr");
            return;
        default: break;
    }
    if (v >= 0x40 && v <= 0x4F) {
        const std::string limit = v & 0x08 ? "_upper_limit" : "_lower_limit";
        if ((v & 0x07) == 0x00) {
            suffix(limit.c_str());
        } else if ((v & 0x07) == 0x01) {
            becomes_count(limit + "_exceeds");
        } else if (v & 0x02) {
            becomes_time_point(std::string(v & 0x04 ? "_last" : "_first") + limit + "_exceed" +
                               (v & 0x01 ? "_end_time" : "_begin_time"));
        } else {
            suffix(("_reserved_vife" + std::to_string(v)).c_str());
            m.kind = VifKind::reserved;
        }
        return;
    }
    if (v >= 0x50 && v <= 0x5F) {
        becomes_duration(std::string(v & 0x04 ? "_last" : "_first") + (v & 0x08 ? "_upper" : "_lower") +
                             "_limit_exceed_duration",
                         v & 0x03);
        return;
    }
    if (v >= 0x60 && v <= 0x67) {
        becomes_duration(std::string(v & 0x04 ? "_last" : "_first") + "_duration", v & 0x03);
        return;
    }
    if (v == 0x68 || v == 0x6C) {
        suffix(v & 0x04 ? "_during_upper_limit_exceed" : "_during_lower_limit_exceed");
        return;
    }
    if (v == 0x6A || v == 0x6B || v == 0x6E || v == 0x6F) {
        becomes_time_point(std::string(v & 0x04 ? "_last" : "_first") + (v & 0x01 ? "_end_time" : "_begin_time"));
        return;
    }
    if (v >= 0x70 && v <= 0x77) {
        m.factor *= pow10(int(v & 0x07) - 6);
        return;
    }
    if (v >= 0x78 && v <= 0x7B) {
        // Additive correction constant 10^(nn-3) in the unit of the VIF, i.e. before scaling to the base unit.
        m.offset += pow10(int(v & 0x03) - 3) * m.factor;
        return;
    }
    char text[24];
    std::snprintf(text, sizeof text, "_vife%02x", v);
    suffix(text);
    m.kind = VifKind::reserved;
}

}  // namespace loopgate::mbus
