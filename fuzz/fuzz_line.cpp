// Feeds arbitrary bytes through the line framer and record parser of every format.
#include <cstdint>
#include <span>

#include "drivers/framing/line_framer.hpp"
#include "drivers/line/line_record.hpp"

using namespace loopgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const line::RecordFormat formats[] = {
        [] {
            line::RecordFormat f;
            f.format = line::Format::regex;
            f.regex = line::compile_named_regex(R"(T=(?<t>-?[0-9.]+) H=(?<h>[0-9]+))");
            f.fields = {{"t", -1, "temperature", line::FieldType::number, "degC", 0.1, -40},
                        {"h", -1, "humidity", line::FieldType::integer, "%", 1, 0}};
            return f;
        }(),
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
                        {"", 3, "c3", line::FieldType::integer, "", 3, 0}};
            return f;
        }(),
    };
    LineFramer framer("\r\n", 64);
    framer.feed(std::span(data, size), [&](std::string_view text) {
        for (const auto& f : formats) (void)line::parse_record(f, text);
    });
    return 0;
}
