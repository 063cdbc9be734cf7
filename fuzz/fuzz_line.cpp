// Feeds arbitrary bytes through the line framer and record parser of every format, then once more as
// one line longer than 32 KiB (the input repeated), the length at which a backtracking regex engine
// overflowed the stack: libFuzzer's inputs stay short (-max_len), the serial lines do not. Every text
// field the parser returns goes through sanitize_text, which must leave it clean.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "drivers/framing/line_framer.hpp"
#include "drivers/line/line_record.hpp"
#include "drivers/text/sanitize_text.hpp"

using namespace loopgate;

namespace {

line::RecordFormat regex_format(const char* pattern, std::vector<line::FieldSpec> fields) {
    line::RecordFormat f;
    f.format = line::Format::regex;
    f.regex = line::compile_named_regex(pattern);
    f.fields = std::move(fields);
    return f;
}

const std::vector<line::RecordFormat>& formats() {
    static const std::vector<line::RecordFormat> all = {
        regex_format(R"(T=(?<t>-?[0-9.]+) H=(?<h>[0-9]+))",
                     {{"t", -1, "temperature", line::FieldType::number, "degC", 0.1, -40},
                      {"h", -1, "humidity", line::FieldType::integer, "%", 1, 0}}),
        // The shapes that crashed std::regex on a long line: a whole-line group, alternation inside a
        // repeat, and a lazy prefix.
        regex_format(R"(^(?<t>.*)$)", {{"t", -1, "text", line::FieldType::text, "", 1, 0}}),
        regex_format(R"(^(?:(?<a>[A-Z]+)|[^A-Z])*?(?P<n>[0-9]+)\s*$)",
                     {{"a", -1, "a", line::FieldType::text, "", 1, 0},
                      {"n", -1, "n", line::FieldType::number, "", 1e300, 0}}),
        [] {
            line::RecordFormat f;
            f.format = line::Format::keyvalue;
            f.delimiter = " ";
            f.fields = {{"a", -1, "a", line::FieldType::boolean, "", 1, 0},
                        {"b", -1, "b", line::FieldType::text, "", 1, 0}};
            return f;
        }(),
        [] {
            line::RecordFormat f;
            f.format = line::Format::delimited;
            f.delimiter = ",";
            f.fields = {{"", 0, "c0", line::FieldType::number, "", 2.5, 1},
                        {"", 3, "c3", line::FieldType::integer, "", 3, 0},
                        {"", 1, "c1", line::FieldType::text, "", 1, 0}};
            return f;
        }(),
    };
    return all;
}

void parse_every_format(std::string_view text) {
    for (const auto& f : formats()) {
        line::ParseOutcome parsed = line::parse_record(f, text);
        for (Reading& r : parsed.readings) {
            auto* s = std::get_if<std::string>(&r.value);
            if (!s) continue;
            sanitize_text(*s);
            if (!valid_utf8(*s) || !clean_text(*s)) std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    LineFramer framer("\r\n", 64);
    framer.feed(std::span(data, size), parse_every_format);

    std::string unit;
    for (std::size_t i = 0; i < size; ++i)
        if (data[i] != '\n') unit += static_cast<char>(data[i]);
    if (unit.empty()) return 0;
    std::string longest;
    constexpr std::size_t long_line = 40'000;
    longest.reserve(long_line + 2);
    while (longest.size() < long_line) longest += unit;
    longest += '\n';
    LineFramer wide("\n", 65536);
    wide.feed(std::span(reinterpret_cast<const std::uint8_t*>(longest.data()), longest.size()), parse_every_format);
    return 0;
}
