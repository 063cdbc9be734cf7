#pragma once
// Turning one text line into readings: pure, table-tested, fuzzed.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/reading.hpp"

namespace loopgate::line {

enum class Format { regex, keyvalue, delimited };
enum class FieldType { number, integer, boolean, text };

struct FieldSpec {
    std::string source;        // regex group name or key (regex / keyvalue)
    int column = -1;           // 0-based column (delimited)
    std::string metric;
    FieldType type = FieldType::number;
    std::string unit;
    double scale = 1.0;
    double offset = 0.0;
};

namespace re2_detail {
class Compiled;
}

// A pattern in RE2 syntax (https://github.com/google/re2/wiki/Syntax): matching takes time linear
// in the line and bounded stack, whatever the pattern and however long the line (a backtracking
// engine such as std::regex recurses per character and overflows the stack on a long line). Named
// groups are written (?<name>...) or (?P<name>...). Lookaround and backreferences do not exist in
// RE2. Patterns match bytes, so `.` takes one byte and invalid UTF-8 in a line still matches.
struct NamedRegex {
    std::shared_ptr<const re2_detail::Compiled> re;
    std::map<std::string, std::size_t> groups;  // name -> capture group number
};
// Throws std::invalid_argument with a readable message when the pattern is not valid.
NamedRegex compile_named_regex(const std::string& pattern);

struct RecordFormat {
    Format format = Format::keyvalue;
    std::optional<NamedRegex> regex;
    std::string pair_separator = "=";   // keyvalue: between key and value
    std::string delimiter = ",";        // keyvalue: between pairs (default space); delimited: between columns
    std::vector<FieldSpec> fields;
};

struct ParseOutcome {
    bool matched = false;               // the line had the record's shape
    std::vector<Reading> readings;      // device/time left for the caller to fill
    std::uint64_t field_errors = 0;     // fields present but not convertible (or missing)
};

ParseOutcome parse_record(const RecordFormat& format, std::string_view line);

}  // namespace loopgate::line
