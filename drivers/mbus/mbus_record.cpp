#include "drivers/mbus/mbus_record.hpp"

#include <array>
#include <cstdio>
#include <cstring>

namespace loopgate::mbus {

namespace {

constexpr std::size_t kMaxDife = 10;  // EN 13757-3: at most ten DIFEs ...
constexpr std::size_t kMaxVife = 10;  // ... and ten VIFEs per record
constexpr std::size_t kLongHeader = 12;
constexpr std::size_t kShortHeader = 4;

// Reads bytes off the front of the user data; every read is bounds-checked so a short record is
// reported, never read past.
struct Cursor {
    std::span<const std::uint8_t> d;
    std::size_t pos = 0;
    bool has(std::size_t n) const { return d.size() - pos >= n; }
    std::uint8_t take() { return d[pos++]; }
    std::span<const std::uint8_t> take(std::size_t n) {
        auto s = d.subspan(pos, n);
        pos += n;
        return s;
    }
};

std::int64_t signed_le(std::span<const std::uint8_t> b) {
    std::uint64_t v = 0;
    for (std::size_t i = b.size(); i > 0; --i) v = v << 8 | b[i - 1];
    const unsigned bits = static_cast<unsigned>(b.size() * 8);
    if (bits < 64 && (v >> (bits - 1)) & 1) v |= ~std::uint64_t{0} << bits;  // two's complement (type B)
    return static_cast<std::int64_t>(v);
}

std::uint64_t unsigned_le(std::span<const std::uint8_t> b) {
    std::uint64_t v = 0;
    for (std::size_t i = b.size(); i > 0; --i) v = v << 8 | b[i - 1];
    return v;
}

// Type A: BCD, least significant byte first. Fh as the most significant digit is a minus sign;
// any other digit above 9 is not a number (meters fill a value they cannot measure with A-F).
struct Bcd {
    std::int64_t value = 0;
    bool error_digits = false;
};
Bcd bcd(std::span<const std::uint8_t> b, bool negative = false) {
    Bcd out;
    std::int64_t v = 0;
    for (std::size_t i = b.size(); i > 0; --i) {
        for (int shift : {4, 0}) {
            unsigned digit = (b[i - 1] >> shift) & 0x0F;
            if (i == b.size() && shift == 4 && digit == 0xF) {
                negative = !negative;
                continue;
            }
            if (digit > 9) out.error_digits = true;
            v = v * 10 + (digit > 9 ? 0 : digit);
        }
    }
    out.value = negative ? -v : v;
    return out;
}

std::string hex_string(std::span<const std::uint8_t> b) {
    std::string s;
    char two[3];
    for (std::size_t i = b.size(); i > 0; --i) {  // most significant byte first, as numbers are written
        std::snprintf(two, sizeof two, "%02X", b[i - 1]);
        s += two;
    }
    return s;
}

// Text in M-Bus records (plain-text VIF, variable-length strings) is sent last character first.
std::string reversed_text(std::span<const std::uint8_t> b) {
    std::string s;
    for (std::size_t i = b.size(); i > 0; --i) s += static_cast<char>(b[i - 1]);
    return s;
}

// Date and time types of EN 13757-3 annex A: G (date, 2 bytes), J (time, 3), F (date and time
// to the minute, 4), I (to the second, 6). Returns ISO 8601 text, or "" with `invalid` set.
std::string time_point_text(std::span<const std::uint8_t> b, std::string& invalid) {
    char text[40];
    auto date_part = [&](std::uint8_t lo, std::uint8_t hi, int century_base) {
        int day = lo & 0x1F, month = hi & 0x0F;
        int year = ((lo & 0xE0) >> 5) | ((hi & 0xF0) >> 1);
        return std::array<int, 3>{century_base + year, month, day};
    };
    switch (b.size()) {
        case 2: {
            auto [y, m, d] = date_part(b[0], b[1], 2000);
            std::snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
            return text;
        }
        case 3:
            std::snprintf(text, sizeof text, "%02d:%02d:%02d", b[2] & 0x1F, b[1] & 0x3F, b[0] & 0x3F);
            return text;
        case 4: {
            if (b[0] & 0x80) invalid = "the meter marks the time invalid";
            // Hundred-year bits (EN 13757-3:2013); meters that predate them count two-digit years
            // 0-80 as 20xx.
            int hundred = (b[1] & 0x60) >> 5;
            int year = ((b[2] & 0xE0) >> 5) | ((b[3] & 0xF0) >> 1);
            if (hundred == 0 && year <= 80) hundred = 1;
            std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d", 1900 + 100 * hundred + year, b[3] & 0x0F,
                          b[2] & 0x1F, b[1] & 0x1F, b[0] & 0x3F);
            return text;
        }
        case 6: {
            if (b[1] & 0x80) invalid = "the meter marks the time invalid";
            auto [y, m, d] = date_part(b[3], b[4], 2000);
            std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, b[2] & 0x1F, b[1] & 0x3F,
                          b[0] & 0x3F);
            return text;
        }
        default:
            invalid = "a time point of " + std::to_string(b.size()) + " bytes has no defined format";
            return {};
    }
}

std::string plain_text_metric(const std::string& text) {
    std::string m;
    bool gap = false;
    for (char c : text) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum) {
            gap = !m.empty();
            continue;
        }
        if (gap) m += '_';
        gap = false;
        m += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return m.empty() ? "plain_text" : m;
}

// Puts a decoded number into the record the way its meaning asks.
void set_number(Record& r, double raw, bool integral, std::int64_t raw_int) {
    switch (r.meaning.kind) {
        case VifKind::number:
            r.value = raw * r.meaning.factor + r.meaning.offset;
            r.numeric = true;
            break;
        case VifKind::identifier:
            if (integral) r.value = raw_int;
            else r.value = raw;
            r.numeric = true;
            break;
        default:
            break;
    }
}

// One record after its DIF: DIFEs, VIB, data. Returns an error text, or "" when the record is whole.
std::string read_record(Cursor& c, std::uint8_t dif, Telegram& t) {
    Record r;
    r.storage = (dif >> 6) & 1;
    r.function = static_cast<Function>((dif >> 4) & 3);
    bool ext = dif & 0x80;
    for (std::size_t n = 0; ext; ++n) {
        if (n == kMaxDife) return "more than 10 DIFEs in a record";
        if (!c.has(1)) return "the frame ends inside a record's DIFEs";
        std::uint8_t dife = c.take();
        r.storage |= std::uint64_t{dife & 0x0Fu} << (1 + 4 * n);
        r.tariff |= std::uint32_t{(dife >> 4) & 3u} << (2 * n);
        r.subunit |= std::uint32_t{(dife >> 6) & 1u} << n;
        ext = dife & 0x80;
    }

    if (!c.has(1)) return "the frame ends before a record's VIF";
    const std::uint8_t vif = c.take();
    const std::uint8_t base = vif & 0x7F;
    ext = vif & 0x80;
    std::size_t vifes = 0;
    auto next_vife = [&](std::uint8_t& out) -> std::string {
        if (vifes == kMaxVife) return "more than 10 VIFEs in a record";
        if (!c.has(1)) return "the frame ends inside a record's VIFEs";
        out = c.take();
        ++vifes;
        ext = out & 0x80;
        return {};
    };
    if (base == 0x7C) {
        // Plain-text VIF: the unit's text follows the VIF at once (before any VIFE), length first.
        if (!c.has(1)) return "the frame ends before a plain-text VIF's length";
        std::uint8_t len = c.take();
        if (!c.has(len)) return "the frame ends inside a plain-text VIF";
        std::string text = reversed_text(c.take(len));
        r.meaning = make_meaning(VifKind::number, plain_text_metric(text), text, 1);
    } else if (base == 0x7B || base == 0x7D) {
        if (!ext) {
            r.meaning = primary_vif(0x6F);  // FBh/FDh without their code: reserved
        } else {
            std::uint8_t code = 0;
            if (auto e = next_vife(code); !e.empty()) return e;
            r.meaning = base == 0x7D ? fd_vif(code & 0x7F) : fb_vif(code & 0x7F);
        }
    } else {
        r.meaning = primary_vif(base);
    }
    while (ext) {
        std::uint8_t v = 0;
        if (auto e = next_vife(v); !e.empty()) return e;
        // After a manufacturer-specific VIF the rest of the VIB is the manufacturer's too.
        if (r.meaning.kind != VifKind::manufacturer) apply_combinable_vife(v & 0x7F, r.meaning);
    }
    if (r.meaning.manufacturer_vifes) ++t.manufacturer_vife_records;
    if (r.meaning.record_error) r.invalid = r.meaning.error_text;

    const unsigned field = dif & 0x0F;
    static constexpr std::size_t kLength[16] = {0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, 0, 6, 0};
    std::size_t len = kLength[field];
    if (field == 0x0D) {
        if (!c.has(1)) return "the frame ends before a variable-length record's LVAR";
        const std::uint8_t lvar = c.take();
        if (lvar <= 0xBF) {
            if (!c.has(lvar)) return "the frame ends inside a variable-length string";
            r.value = reversed_text(c.take(lvar));
        } else if (lvar <= 0xC9 || (lvar >= 0xD0 && lvar <= 0xD9)) {
            std::size_t n = lvar & 0x0F;
            if (!c.has(n)) return "the frame ends inside a variable-length BCD number";
            Bcd v = bcd(c.take(n), lvar >= 0xD0);
            if (n > 9) {  // more digits than an int64 holds: keep them as text
                r.value = std::to_string(v.value);
            } else {
                if (v.error_digits) r.invalid = "BCD value with error digits (A-F)";
                set_number(r, static_cast<double>(v.value), true, v.value);
            }
        } else if (lvar >= 0xE0 && lvar <= 0xF6) {
            std::size_t n = lvar <= 0xEF ? lvar - 0xE0u : lvar <= 0xF4 ? 4u * (lvar - 0xECu) : lvar == 0xF5 ? 48u : 64u;
            if (!c.has(n)) return "the frame ends inside a variable-length binary number";
            auto bytes = c.take(n);
            if (n >= 1 && n <= 8) {
                std::int64_t v = signed_le(bytes);
                set_number(r, static_cast<double>(v), true, v);
            } else {
                r.value = hex_string(bytes);
            }
        } else {
            return "reserved LVAR " + std::to_string(lvar) + " in a variable-length record";
        }
    } else {
        if (!c.has(len)) return "the frame ends inside a record's data";
        auto bytes = c.take(len);
        if (r.meaning.kind == VifKind::time_point && len > 0) {
            if (field >= 0x09 && field <= 0x0E) {
                r.value = hex_string(bytes);  // a time point in BCD has no standard layout
            } else {
                std::string text = time_point_text(bytes, r.invalid);
                r.value = text;
            }
        } else if (field == 0x05) {
            float f;
            std::uint32_t u = static_cast<std::uint32_t>(unsigned_le(bytes));
            std::memcpy(&f, &u, sizeof f);
            set_number(r, static_cast<double>(f), false, 0);
        } else if (field >= 0x01 && field <= 0x07) {
            std::int64_t v = signed_le(bytes);
            set_number(r, static_cast<double>(v), true, v);
        } else if (field >= 0x09 && field <= 0x0E) {
            Bcd v = bcd(bytes);
            if (v.error_digits) r.invalid = "BCD value with error digits (A-F)";
            set_number(r, static_cast<double>(v.value), true, v.value);
        }
    }
    if (r.meaning.kind == VifKind::manufacturer) ++t.manufacturer_records;
    t.records.push_back(std::move(r));
    return {};
}

std::string read_records(Cursor& c, Telegram& t) {
    while (c.has(1)) {
        const std::uint8_t dif = c.take();
        if (dif == 0x2F) continue;  // idle filler
        if (dif == 0x0F || dif == 0x1F) {
            // Manufacturer-specific data to the end of the telegram; 1Fh adds "more records follow".
            t.more_records_follow = dif == 0x1F;
            t.manufacturer_bytes += c.d.size() - c.pos;
            c.pos = c.d.size();
            return {};
        }
        if ((dif & 0x0F) == 0x0F) {
            char text[48];
            std::snprintf(text, sizeof text, "reserved DIF %02Xh", dif);
            return text;
        }
        if (auto e = read_record(c, dif, t); !e.empty()) return e;
    }
    return {};
}

struct FixedUnit {
    const char* metric;
    const char* unit;
    double factor;
};

// The counters' units of the fixed data structure (EN 1434-3 / EN 13757-3 annex), in base units.
std::optional<FixedUnit> fixed_unit(std::uint8_t code) {
    code &= 0x3F;
    if (code >= 0x02 && code <= 0x0A) return FixedUnit{"energy", "Wh", pow10(code - 0x02)};
    if (code >= 0x0B && code <= 0x13) return FixedUnit{"energy", "J", pow10(code - 0x0B + 3)};
    if (code >= 0x14 && code <= 0x1C) return FixedUnit{"power", "W", pow10(code - 0x14)};
    if (code >= 0x1D && code <= 0x25) return FixedUnit{"power", "W", pow10(code - 0x1D + 3) / 3600.0};
    if (code >= 0x26 && code <= 0x2E) return FixedUnit{"volume", "m3", pow10(code - 0x26 - 6)};
    if (code >= 0x2F && code <= 0x37) return FixedUnit{"volume_flow", "m3/h", pow10(code - 0x2F - 6)};
    if (code == 0x38) return FixedUnit{"temperature", "degC", 1e-3};
    if (code == 0x39) return FixedUnit{"hca", "HCA", 1};
    if (code == 0x3F) return FixedUnit{"counter", "", 1};
    return std::nullopt;  // times and dates (00h, 01h) and reserved codes
}

DecodeResult decode_fixed(std::span<const std::uint8_t> d) {
    if (d.size() != 16) return {std::nullopt, "a fixed data structure has 16 bytes, this one " + std::to_string(d.size())};
    Telegram t;
    t.ci = 0x73;
    t.header.has_id = true;
    t.header.id = id_digits(d.first(4));
    t.header.access_number = d[4];
    t.header.status = d[5];
    t.header.medium = static_cast<std::uint8_t>((d[6] >> 6) | ((d[7] >> 6) << 2));
    const bool binary = d[5] & 0x80;
    const bool stored = d[5] & 0x40;
    for (int i = 0; i < 2; ++i) {
        auto unit = fixed_unit(d[6 + i]);
        if (!unit) continue;
        Record r;
        r.storage = stored ? 1 : 0;
        r.meaning = make_meaning(unit->unit[0] ? VifKind::number : VifKind::identifier, unit->metric, unit->unit,
                               unit->factor);
        auto bytes = d.subspan(8 + 4 * i, 4);
        if (binary) {
            std::int64_t v = signed_le(bytes);
            set_number(r, static_cast<double>(v), true, v);
        } else {
            Bcd v = bcd(bytes);
            if (v.error_digits) r.invalid = "BCD value with error digits (A-F)";
            set_number(r, static_cast<double>(v.value), true, v.value);
        }
        t.records.push_back(std::move(r));
    }
    return {std::move(t), {}};
}

}  // namespace

// BCD digits read as hex are the decimal digits, and an error nibble (A-F) shows as itself.
std::string id_digits(std::span<const std::uint8_t> b) { return hex_string(b); }

std::string manufacturer_code(std::uint16_t m) {
    std::string s(3, '?');
    for (int i = 0; i < 3; ++i) {
        unsigned letter = (m >> (10 - 5 * i)) & 0x1F;
        if (letter >= 1 && letter <= 26) s[static_cast<std::size_t>(i)] = static_cast<char>('@' + letter);
    }
    return s;
}

const char* medium_name(std::uint8_t m) {
    switch (m) {
        case 0x00: return "other";
        case 0x01: return "oil";
        case 0x02: return "electricity";
        case 0x03: return "gas";
        case 0x04: return "heat (outlet)";
        case 0x05: return "steam";
        case 0x06: return "warm water";
        case 0x07: return "water";
        case 0x08: return "heat cost allocator";
        case 0x09: return "compressed air";
        case 0x0A: return "cooling (outlet)";
        case 0x0B: return "cooling (inlet)";
        case 0x0C: return "heat (inlet)";
        case 0x0D: return "heat and cooling";
        case 0x0E: return "bus/system component";
        case 0x0F: return "unknown";
        case 0x15: return "hot water";
        case 0x16: return "cold water";
        case 0x17: return "dual water";
        case 0x18: return "pressure";
        case 0x19: return "A/D converter";
        default: return "reserved";
    }
}

DecodeResult decode_user_data(std::uint8_t ci, std::span<const std::uint8_t> data) {
    Cursor c{data};
    Telegram t;
    t.ci = ci;
    switch (ci) {
        case 0x70:
            // Application error: one status byte (or none, "unspecified").
            t.application_error = data.empty() ? std::uint8_t{0} : data[0];
            return {std::move(t), {}};
        case 0x73:
            return decode_fixed(data);
        case 0x72: {
            if (!c.has(kLongHeader)) return {std::nullopt, "the variable data header is cut short"};
            auto h = c.take(kLongHeader);
            t.header.has_id = true;
            t.header.id = id_digits(h.first(4));
            t.header.manufacturer = manufacturer_code(static_cast<std::uint16_t>(h[4] | h[5] << 8));
            t.header.version = h[6];
            t.header.medium = h[7];
            t.header.access_number = h[8];
            t.header.status = h[9];
            break;
        }
        case 0x7A: {
            if (!c.has(kShortHeader)) return {std::nullopt, "the short header is cut short"};
            auto h = c.take(kShortHeader);
            t.header.access_number = h[0];
            t.header.status = h[1];
            break;
        }
        case 0x78:
            break;
        default: {
            char text[48];
            std::snprintf(text, sizeof text, "unsupported CI field %02Xh", ci);
            return {std::nullopt, text};
        }
    }
    if (auto e = read_records(c, t); !e.empty()) return {std::nullopt, e};
    return {std::move(t), {}};
}

}  // namespace loopgate::mbus
