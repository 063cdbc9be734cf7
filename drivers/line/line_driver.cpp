#include "drivers/line/line_driver.hpp"

#include "core/topic_name.hpp"
#include "drivers/framing/line_framer.hpp"
#include "drivers/line/line_record.hpp"

namespace loopgate {

namespace {

// YAML cannot hold a raw CR or LF comfortably; accept the escapes operators type.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            char n = s[++i];
            if (n == 'n') out += '\n';
            else if (n == 'r') out += '\r';
            else if (n == 't') out += '\t';
            else if (n == '\\') out += '\\';
            else {
                out += '\\';
                out += n;
            }
        } else {
            out += s[i];
        }
    }
    return out;
}

class LineDriver final : public Driver {
public:
    LineDriver(std::string device, line::RecordFormat format, std::string terminator, std::size_t max_line)
        : device_(std::move(device)), format_(std::move(format)), framer_(std::move(terminator), max_line) {}

    void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) override {
        framer_.feed(bytes, [&](std::string_view text) {
            line::ParseOutcome parsed = line::parse_record(format_, text);
            field_errors_ += parsed.field_errors;
            if (!parsed.matched) {
                ++unmatched_;
                return;
            }
            ++records_;
            for (Reading& r : parsed.readings) {
                r.device = device_;
                r.receive_time_ns = now.wall_ns;
                out.readings.push_back(std::move(r));
            }
        });
    }

    void on_close(DriverOutput& /*out*/) override { framer_.reset(); }

    std::vector<std::string> device_names() const override { return {device_}; }

    Counters counters() const override {
        return {{"lines", framer_.lines()},
                {"records", records_},
                {"unmatched_lines", unmatched_},
                {"overlong_lines", framer_.overlong()},
                {"field_errors", field_errors_}};
    }

private:
    std::string device_;
    line::RecordFormat format_;
    LineFramer framer_;
    std::uint64_t records_ = 0;
    std::uint64_t unmatched_ = 0;
    std::uint64_t field_errors_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_line_driver(const DriverSpec& spec) {
    const ConfigNode& s = spec.settings;
    s.allow_only({"terminator", "max_line", "format", "regex", "delimiter", "pair_separator", "fields"});

    auto devices = spec.devices.items();
    if (devices.size() != 1)
        spec.devices.fail("the line driver serves exactly one device per port; list one device with a name");
    devices[0].allow_only({"name", "report", "offline_after_silence", "labels", "descriptions"});  // all but name: the gateway's (report stage, catalog)
    std::string device = devices[0].str("name");
    require_topic_name(devices[0].need("name"), device);

    std::string terminator = unescape(s.str("terminator", "\\n"));
    if (terminator.empty()) s.need("terminator").fail("terminator must not be empty");
    auto max_line = static_cast<std::size_t>(s.integer("max_line", 8, 65536, 256));

    line::RecordFormat fmt;
    std::string format = s.choice("format", {"regex", "keyvalue", "delimited"}, "keyvalue");
    if (format == "regex") {
        fmt.format = line::Format::regex;
        ConfigNode re = s.need("regex");
        try {
            fmt.regex = line::compile_named_regex(re.as_string());
        } catch (const std::invalid_argument& e) {
            re.fail(e.what());
        }
    } else if (format == "keyvalue") {
        fmt.format = line::Format::keyvalue;
        fmt.delimiter = unescape(s.str("delimiter", " "));
        fmt.pair_separator = unescape(s.str("pair_separator", "="));
    } else {
        fmt.format = line::Format::delimited;
        fmt.delimiter = unescape(s.str("delimiter", ","));
    }
    if (fmt.delimiter.empty()) s.need("delimiter").fail("delimiter must not be empty");
    if (fmt.format == line::Format::regex && s["delimiter"].present())
        s["delimiter"].fail("delimiter applies to the keyvalue and delimited formats, not regex");

    auto fields = s.need("fields").items();
    if (fields.empty()) s.need("fields").fail("list at least one field");
    ConfigErrors errors;  // every bad field, not just the first
    for (const ConfigNode& f : fields) errors.check([&] {
        f.allow_only({"field", "column", "metric", "type", "unit", "scale", "offset"});
        line::FieldSpec spec_f;
        if (fmt.format == line::Format::delimited) {
            spec_f.column = static_cast<int>(f.integer("column", 0, 1023));
            if (f["field"].present()) f["field"].fail("the delimited format selects fields by column, not field");
        } else {
            spec_f.source = f.str("field");
            if (f["column"].present()) f["column"].fail("column applies to the delimited format only");
            if (fmt.format == line::Format::regex && !fmt.regex->groups.count(spec_f.source))
                f.need("field").fail("the regex has no group named '" + spec_f.source + "'");
        }
        spec_f.metric = f.str("metric", spec_f.source);
        require_topic_name(f["metric"].present() ? f["metric"] : f, spec_f.metric);
        std::string type = f.choice("type", {"double", "int", "bool", "string"}, "double");
        spec_f.type = type == "double" ? line::FieldType::number
                      : type == "int"  ? line::FieldType::integer
                      : type == "bool" ? line::FieldType::boolean
                                       : line::FieldType::text;
        spec_f.unit = f.str("unit", "");
        spec_f.scale = f.real("scale", 1.0);
        spec_f.offset = f.real("offset", 0.0);
        if ((spec_f.type == line::FieldType::boolean || spec_f.type == line::FieldType::text) &&
            (f["scale"].present() || f["offset"].present()))
            f.fail("scale and offset apply to double and int fields only");
        fmt.fields.push_back(std::move(spec_f));
    });
    errors.throw_if_any();
    return std::make_unique<LineDriver>(std::move(device), std::move(fmt), std::move(terminator), max_line);
}

}  // namespace loopgate
