#include "drivers/modbus/point_map.hpp"

#include "core/topic_name.hpp"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

namespace loopgate::modbus {

namespace {

std::uint16_t swap_bytes(std::uint16_t x) { return static_cast<std::uint16_t>((x << 8) | (x >> 8)); }
bool swaps_words(WordOrder o) { return o == WordOrder::CDAB || o == WordOrder::DCBA; }
bool swaps_bytes(WordOrder o) { return o == WordOrder::BADC || o == WordOrder::DCBA; }

// Wire words -> the value's bits, most significant first.
std::uint64_t assemble(std::span<const std::uint16_t> w, WordOrder o) {
    std::uint64_t v = 0;
    std::size_t n = w.size();
    for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t x = w[swaps_words(o) ? n - 1 - i : i];
        v = (v << 16) | (swaps_bytes(o) ? swap_bytes(x) : x);
    }
    return v;
}

std::vector<std::uint16_t> split(std::uint64_t v, std::size_t n, WordOrder o) {
    std::vector<std::uint16_t> w(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto x = static_cast<std::uint16_t>((v >> (16 * (n - 1 - i))) & 0xFFFF);
        w[swaps_words(o) ? n - 1 - i : i] = swaps_bytes(o) ? swap_bytes(x) : x;
    }
    return w;
}

bool is_numeric(DataType t) { return t != DataType::boolean && t != DataType::string; }
bool is_integer(DataType t) { return is_numeric(t) && t != DataType::float32 && t != DataType::float64; }

std::uint16_t words_of(DataType t) {
    switch (t) {
        case DataType::int32:
        case DataType::uint32:
        case DataType::float32: return 2;
        case DataType::int64:
        case DataType::uint64:
        case DataType::float64: return 4;
        default: return 1;
    }
}

DataType parse_type(const std::string& s) {
    static const std::pair<const char*, DataType> names[] = {
        {"bool", DataType::boolean}, {"int16", DataType::int16},     {"uint16", DataType::uint16},
        {"int32", DataType::int32},  {"uint32", DataType::uint32},   {"int64", DataType::int64},
        {"uint64", DataType::uint64}, {"float32", DataType::float32}, {"float64", DataType::float64},
        {"string", DataType::string}};
    for (const auto& [n, t] : names)
        if (s == n) return t;
    return DataType::uint16;
}

WordOrder parse_order(const std::string& s) {
    if (s == "CDAB") return WordOrder::CDAB;
    if (s == "BADC") return WordOrder::BADC;
    if (s == "DCBA") return WordOrder::DCBA;
    return WordOrder::ABCD;
}

// Integer range of a type, as doubles for the scaled-write check.
void type_range(DataType t, long double& lo, long double& hi) {
    switch (t) {
        case DataType::int16: lo = INT16_MIN; hi = INT16_MAX; break;
        case DataType::uint16: lo = 0; hi = UINT16_MAX; break;
        case DataType::int32: lo = INT32_MIN; hi = INT32_MAX; break;
        case DataType::uint32: lo = 0; hi = UINT32_MAX; break;
        case DataType::int64: lo = static_cast<long double>(INT64_MIN); hi = static_cast<long double>(INT64_MAX); break;
        case DataType::uint64: lo = 0; hi = static_cast<long double>(UINT64_MAX); break;
        default: lo = -std::numeric_limits<long double>::infinity(); hi = -lo; break;
    }
}

std::string format_number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

bool number_of(const Value& v, double& out, std::string& error) {
    if (const auto* d = std::get_if<double>(&v)) out = *d;
    else if (const auto* i = std::get_if<std::int64_t>(&v)) out = static_cast<double>(*i);
    else if (const auto* s = std::get_if<std::string>(&v)) {
        char* end = nullptr;
        out = std::strtod(s->c_str(), &end);
        if (s->empty() || end != s->c_str() + s->size()) {
            error = "expects a number, got '" + *s + "'";
            return false;
        }
    } else {
        error = "expects a number, got a bool";
        return false;
    }
    if (!std::isfinite(out)) {
        error = "expects a finite number";
        return false;
    }
    return true;
}

Point parse_point(const ConfigNode& n, const Device& dev) {
    n.allow_only({"name", "table", "address", "ref", "type", "word_order", "length", "bit", "scale", "offset",
                  "unit", "deadband", "report_on_change", "max_silence", "min_interval", "writable", "min", "max"});
    Point p;
    p.name = n.str("name");
    require_topic_name(n.need("name"), p.name);
    if (p.name == "online") n.need("name").fail("'online' is reserved for the device's online metric");

    ConfigNode where = n["ref"].present() ? n["ref"] : n["address"];
    if (n["ref"].present()) {
        if (n["address"].present()) n["address"].fail("give either address (0-based, with table) or ref (e.g. 40001), not both");
        std::string error;
        auto ref = parse_reference(n["ref"].as_string(), error);
        if (!ref) n["ref"].fail(error);
        if (n["table"].present() && n["table"].as_choice({"coil", "discrete_input", "holding", "input"}) != table_name(ref->table))
            n["table"].fail(std::string("table contradicts ref ") + n["ref"].as_string() + ", which is in the " +
                            table_name(ref->table) + " table");
        p.table = ref->table;
        p.address = ref->address;
    } else {
        if (!n["address"].present())
            n.fail("point '" + p.name + "' needs an address (0-based protocol address, with table) or a ref (e.g. 40001)");
        std::string t = n.need("table").as_choice({"coil", "discrete_input", "holding", "input"});
        p.table = t == "coil" ? Table::coil : t == "discrete_input" ? Table::discrete_input : t == "holding" ? Table::holding : Table::input;
        p.address = static_cast<std::uint16_t>(n.integer("address", 0, 65535));
    }

    const bool bits = is_bit_table(p.table);
    if (n["type"].present()) {
        p.type = parse_type(n["type"].as_choice({"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                                                  "float32", "float64", "string"}));
    } else {
        p.type = bits || n["bit"].present() ? DataType::boolean : DataType::uint16;
    }
    if (bits) {
        if (p.type != DataType::boolean) n["type"].fail(std::string("points in the ") + table_name(p.table) + " table are bool");
        for (const char* k : {"bit", "word_order", "length", "scale", "offset", "deadband"})
            if (n[k].present()) n[k].fail(std::string(k) + " does not apply to the " + table_name(p.table) + " table");
    } else {
        if (n["bit"].present()) {
            p.bit = static_cast<int>(n.integer("bit", 0, 15));
            if (p.type != DataType::boolean) n["type"].fail("a point with bit: is a bool");
        } else if (p.type == DataType::boolean) {
            n["type"].fail("bool points in a register table need bit: 0..15 (the bit of the register)");
        }
        if (p.type == DataType::string) {
            p.length = static_cast<std::uint16_t>(n.integer("length", 1, kMaxReadRegisters));
        } else if (n["length"].present()) {
            n["length"].fail("length (in registers) applies to string points only");
        }
        if (n["word_order"].present()) p.order = parse_order(n["word_order"].as_choice({"ABCD", "CDAB", "BADC", "DCBA"}));
        if (p.type == DataType::boolean && n["word_order"].present()) n["word_order"].fail("word_order does not apply to bit points");
    }
    if (!bits && p.type != DataType::string) p.length = words_of(p.type);
    if (bits) p.length = 1;

    const bool numeric = is_numeric(p.type);
    for (const char* k : {"scale", "offset", "deadband"})
        if (!numeric && n[k].present()) n[k].fail(std::string(k) + " applies to numeric points only");
    p.scale = n.real("scale", 1.0);
    if (p.scale == 0.0) n["scale"].fail("scale must not be 0");
    p.offset = n.real("offset", 0.0);
    // The point's report-by-exception settings, under its own key names (report_on_change is the
    // stage's on_change); the rest of a policy comes from the device and the port.
    p.report = parse_report_policy(n);
    if (n["report_on_change"].present()) p.report.on_change = n["report_on_change"].as_bool();
    p.unit = n.str("unit", "");

    p.writable = n.boolean("writable", false);
    if (p.writable && (p.table == Table::discrete_input || p.table == Table::input))
        n["writable"].fail(std::string("the ") + table_name(p.table) + " table is read-only in Modbus");
    if (p.writable && p.bit >= 0)
        n["writable"].fail("bit points cannot be written: it would take a read-modify-write that races the device");
    for (const char* k : {"min", "max"}) {
        if (!n[k].present()) continue;
        if (!p.writable) n[k].fail(std::string(k) + " limits writes; set writable: true");
        if (!numeric) n[k].fail(std::string(k) + " applies to numeric points only");
    }
    if (n["min"].present()) p.min = n["min"].as_double();
    if (n["max"].present()) p.max = n["max"].as_double();
    if (p.min && p.max && *p.min > *p.max) n["max"].fail("max is below min");
    if (p.writable && p.table == Table::holding && p.count() > kMaxWriteRegisters)
        n["length"].fail("a writable point can span at most 123 registers (one write request)");

    std::uint32_t last = std::uint32_t{p.address} + p.count() - 1;
    if (last > 65535)
        where.fail("register range " + std::to_string(p.address) + ".." + std::to_string(last) + " overflows 65535");
    std::uint16_t limit = bits ? dev.max_bits : dev.max_registers;
    if (p.count() > limit)
        where.fail("the point spans " + std::to_string(p.count()) + " registers, more than one request may read (" +
                   std::to_string(limit) + ")");
    return p;
}

}  // namespace

const char* data_type_name(DataType t) {
    switch (t) {
        case DataType::boolean: return "bool";
        case DataType::int16: return "int16";
        case DataType::uint16: return "uint16";
        case DataType::int32: return "int32";
        case DataType::uint32: return "uint32";
        case DataType::int64: return "int64";
        case DataType::uint64: return "uint64";
        case DataType::float32: return "float32";
        case DataType::float64: return "float64";
        case DataType::string: return "string";
    }
    return "?";
}

const char* word_order_name(WordOrder o) {
    switch (o) {
        case WordOrder::ABCD: return "ABCD";
        case WordOrder::CDAB: return "CDAB";
        case WordOrder::BADC: return "BADC";
        case WordOrder::DCBA: return "DCBA";
    }
    return "?";
}

std::uint16_t Point::count() const {
    if (is_bit_table(table) || bit >= 0) return 1;
    if (type == DataType::string) return length;
    return words_of(type);
}

std::optional<Reference> parse_reference(const std::string& text, std::string& error) {
    bool digits = !text.empty();
    for (char c : text) digits = digits && c >= '0' && c <= '9';
    if (!digits || (text.size() != 5 && text.size() != 6)) {
        error = "ref must be a 5- or 6-digit register reference such as 40001 or 400001, got '" + text + "'";
        return std::nullopt;
    }
    Table table;
    switch (text[0]) {
        case '0': table = Table::coil; break;
        case '1': table = Table::discrete_input; break;
        case '3': table = Table::input; break;
        case '4': table = Table::holding; break;
        default:
            error = "ref '" + text + "' must start with 0 (coil), 1 (discrete input), 3 (input) or 4 (holding)";
            return std::nullopt;
    }
    long number = std::strtol(text.c_str() + 1, nullptr, 10);
    long top = text.size() == 5 ? 9999 : 65536;
    if (number < 1 || number > top) {
        error = "ref '" + text + "' is out of range: references count from 1 (" + text.substr(0, 1) +
                (text.size() == 5 ? "0001" : "00001") + " is address 0) up to " + std::to_string(top);
        return std::nullopt;
    }
    return Reference{table, static_cast<std::uint16_t>(number - 1)};
}

Decoded decode_bit(const Point& p, bool bit) {
    (void)p;
    return {Value{bit}, Quality::good, {}};
}

Decoded decode_registers(const Point& p, std::span<const std::uint16_t> w) {
    if (p.bit >= 0) return {Value{((w[0] >> p.bit) & 1) != 0}, Quality::good, {}};
    if (p.type == DataType::string) {
        std::string s;
        for (std::uint16_t x : w) {
            std::uint16_t y = swaps_bytes(p.order) ? swap_bytes(x) : x;
            s += static_cast<char>(y >> 8);
            s += static_cast<char>(y & 0xFF);
        }
        if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
        while (!s.empty() && s.back() == ' ') s.pop_back();
        // Bytes that are not UTF-8 text (Latin-1, noise) and control characters are made fit for a
        // protobuf string by the reading guard every driver's output passes (drivers/reading_guard.hpp).
        return {Value{s}, Quality::good, {}};
    }
    std::uint64_t raw = assemble(w, p.order);
    double as_double = 0;
    bool integral = true;
    std::int64_t as_int = 0;
    switch (p.type) {
        case DataType::int16: as_int = static_cast<std::int16_t>(raw); break;
        case DataType::uint16: as_int = static_cast<std::uint16_t>(raw); break;
        case DataType::int32: as_int = static_cast<std::int32_t>(raw); break;
        case DataType::uint32: as_int = static_cast<std::uint32_t>(raw); break;
        case DataType::int64: as_int = static_cast<std::int64_t>(raw); break;
        case DataType::uint64:
            if (raw > static_cast<std::uint64_t>(INT64_MAX)) {
                integral = false;  // beyond what an int64 Value holds
                as_double = static_cast<double>(raw);
            } else {
                as_int = static_cast<std::int64_t>(raw);
            }
            break;
        case DataType::float32:
            integral = false;
            as_double = std::bit_cast<float>(static_cast<std::uint32_t>(raw));
            break;
        case DataType::float64:
            integral = false;
            as_double = std::bit_cast<double>(raw);
            break;
        default: break;
    }
    if (integral && !p.scaled()) return {Value{as_int}, Quality::good, {}};
    if (integral) as_double = static_cast<double>(as_int);
    double v = as_double * p.scale + p.offset;
    // The reading guard every driver passes would flag it too; deciding here already keeps a
    // non-finite value out of the driver's last good value and its report-on-change comparisons.
    if (!std::isfinite(v)) return {Value{v}, Quality::bad, "not a finite number"};
    return {Value{v}, Quality::good, {}};
}

Value zero_value(const Point& p) {
    if (p.type == DataType::boolean) return false;
    if (p.type == DataType::string) return std::string();
    if (is_integer(p.type) && !p.scaled()) return std::int64_t{0};
    return 0.0;
}

std::optional<std::vector<std::uint16_t>> encode_for_write(const Point& p, const Value& v, std::string& error) {
    const std::string what = "point '" + p.name + "' ";
    if (!p.writable) {
        error = what + "is not writable";
        return std::nullopt;
    }
    if (p.table == Table::coil) {
        bool on = false;
        if (const auto* b = std::get_if<bool>(&v)) on = *b;
        else if (const auto* i = std::get_if<std::int64_t>(&v); i && (*i == 0 || *i == 1)) on = *i == 1;
        else if (const auto* d = std::get_if<double>(&v); d && (*d == 0.0 || *d == 1.0)) on = *d == 1.0;
        else if (const auto* s = std::get_if<std::string>(&v);
                 s && (*s == "true" || *s == "false" || *s == "on" || *s == "off" || *s == "1" || *s == "0"))
            on = *s == "true" || *s == "on" || *s == "1";
        else {
            error = what + "is a coil and expects true or false";
            return std::nullopt;
        }
        return std::vector<std::uint16_t>{static_cast<std::uint16_t>(on ? 1 : 0)};
    }
    if (p.type == DataType::string) {
        const auto* s = std::get_if<std::string>(&v);
        if (!s) {
            error = what + "expects text";
            return std::nullopt;
        }
        if (s->size() > p.length * 2u) {
            error = what + "holds at most " + std::to_string(p.length * 2) + " characters";
            return std::nullopt;
        }
        std::vector<std::uint16_t> w(p.length, 0);
        for (std::size_t i = 0; i < s->size(); ++i) {
            auto c = static_cast<std::uint8_t>((*s)[i]);
            w[i / 2] = static_cast<std::uint16_t>(w[i / 2] | (i % 2 == 0 ? c << 8 : c));
        }
        if (swaps_bytes(p.order))
            for (auto& x : w) x = swap_bytes(x);
        return w;
    }
    if (p.type == DataType::boolean) {
        error = what + "is a bit of a register and cannot be written";
        return std::nullopt;
    }
    double eng = 0;
    std::string why;
    if (!number_of(v, eng, why)) {
        error = what + why;
        return std::nullopt;
    }
    if ((p.min && eng < *p.min) || (p.max && eng > *p.max)) {
        error = what + "accepts " + (p.min ? format_number(*p.min) : std::string("-inf")) + ".." +
                (p.max ? format_number(*p.max) : std::string("inf")) + ", got " + format_number(eng);
        return std::nullopt;
    }
    std::uint64_t raw = 0;
    if (p.type == DataType::float32 || p.type == DataType::float64) {
        double r = (eng - p.offset) / p.scale;
        if (p.type == DataType::float32) {
            if (std::fabs(r) > FLT_MAX) {
                error = what + "value does not fit a float32";
                return std::nullopt;
            }
            raw = std::bit_cast<std::uint32_t>(static_cast<float>(r));
        } else {
            raw = std::bit_cast<std::uint64_t>(r);
        }
    } else {
        long double lo = 0, hi = 0;
        type_range(p.type, lo, hi);
        const auto* exact = std::get_if<std::int64_t>(&v);
        if (exact && !p.scaled()) {
            // Integers written as integers keep all 64 bits; a double would round above 2^53.
            if (*exact < lo || static_cast<long double>(*exact) > hi) {
                error = what + "value " + std::to_string(*exact) + " is out of range for " + data_type_name(p.type);
                return std::nullopt;
            }
            raw = static_cast<std::uint64_t>(*exact);
        } else {
            long double r = (static_cast<long double>(eng) - p.offset) / p.scale;
            if (!p.scaled() && r != std::floor(r)) {
                error = what + "is an integer and expects a whole number, got " + format_number(eng);
                return std::nullopt;
            }
            r = std::round(r);
            if (r < lo || r > hi) {
                error = what + "value " + format_number(eng) + " is out of range for " + data_type_name(p.type) +
                        (p.scaled() ? " after scale and offset" : "");
                return std::nullopt;
            }
            raw = p.type == DataType::uint64 ? static_cast<std::uint64_t>(r)
                                             : static_cast<std::uint64_t>(static_cast<std::int64_t>(r));
        }
    }
    return split(raw, p.count(), p.order);
}

std::vector<Device> parse_devices(const ConfigNode& devices, UnitRules rules) {
    std::vector<Device> out;
    std::set<std::string> names;
    std::set<int> units;
    // A bad device or point is recorded and the next one checked, so one run reports them all.
    ConfigErrors errors;
    for (const ConfigNode& d : devices.items()) {
        Device dev;
        errors.check([&] {
            d.allow_only({"name", "unit", "broadcast", "poll_interval", "max_registers", "max_bits", "points", "report", "labels",
                          "descriptions"});
            dev.name = d.str("name");
            require_topic_name(d.need("name"), dev.name);
            if (!names.insert(dev.name).second) d.need("name").fail("duplicate device name '" + dev.name + "'");
            dev.broadcast = d.boolean("broadcast", false);
            if (dev.broadcast && !rules.broadcast)
                d.need("broadcast").fail("Modbus TCP has no broadcast: list each device by its unit");
            if (dev.broadcast) {
                if (d["unit"].present()) d["unit"].fail("a broadcast device has no unit: its writes go to unit 0, every slave");
                if (d["poll_interval"].present()) d["poll_interval"].fail("a broadcast device is never polled");
                dev.unit = kBroadcastUnit;
            } else {
                dev.unit = static_cast<std::uint8_t>(d.integer("unit", rules.min_unit, rules.max_unit));
                if (!units.insert(dev.unit).second)
                    d.need("unit").fail("unit " + std::to_string(dev.unit) + " is already used by another device on this port");
                dev.poll_interval_ms = d.millis("poll_interval", 1000);
                if (dev.poll_interval_ms < 10 || dev.poll_interval_ms > 86'400'000)
                    d.need("poll_interval").fail("poll_interval must be between 10ms and 1d");
            }
            dev.max_registers = static_cast<std::uint16_t>(d.integer("max_registers", 1, kMaxReadRegisters, kMaxReadRegisters));
            dev.max_bits = static_cast<std::uint16_t>(d.integer("max_bits", 1, kMaxReadBits, kMaxReadBits));
        });
        std::vector<ConfigNode> points;
        errors.check([&] {
            points = d.need("points").items();
            if (points.empty()) d.need("points").fail("list at least one point");
        });
        std::set<std::string> point_names;
        for (const ConfigNode& pn : points) {
            errors.check([&] {
                Point p = parse_point(pn, dev);
                if (!point_names.insert(p.name).second)
                    pn.need("name").fail("duplicate point name '" + p.name + "' in device '" + dev.name + "'");
                if (dev.broadcast && !p.writable)
                    pn.fail("points of a broadcast device must be writable (nothing answers a broadcast read)");
                dev.points.push_back(std::move(p));
            });
        }
        out.push_back(std::move(dev));
    }
    errors.throw_if_any();
    return out;
}

}  // namespace loopgate::modbus
