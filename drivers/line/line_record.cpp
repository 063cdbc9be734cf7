#include "drivers/line/line_record.hpp"

#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

#include <re2/re2.h>

namespace loopgate::line {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, std::string_view sep) {
    std::vector<std::string_view> out;
    if (sep == " ") {  // runs of blanks count as one separator
        std::size_t i = 0;
        while (i < s.size()) {
            while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
            std::size_t j = i;
            while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
            if (j > i) out.push_back(s.substr(i, j - i));
            i = j;
        }
        return out;
    }
    std::size_t start = 0;
    while (true) {
        std::size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, pos - start));
        start = pos + sep.size();
    }
}

bool convert(const FieldSpec& f, std::string_view raw, Value& out) {
    std::string_view text = trim(raw);
    if (text.empty()) return false;
    switch (f.type) {
        case FieldType::number: {
            double v = 0;
            if (text.front() == '+') text.remove_prefix(1);
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) return false;
            out = v * f.scale + f.offset;
            return true;
        }
        case FieldType::integer: {
            std::int64_t v = 0;
            if (text.front() == '+') text.remove_prefix(1);
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || p != text.data() + text.size()) return false;
            if (f.scale == 1.0 && f.offset == 0.0) {
                out = v;
            } else {
                double scaled = static_cast<double>(v) * f.scale + f.offset;
                if (!(scaled >= -9.2e18 && scaled <= 9.2e18)) return false;
                out = static_cast<std::int64_t>(std::llround(scaled));
            }
            return true;
        }
        case FieldType::boolean: {
            std::string lower(text);
            for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (lower == "1" || lower == "true" || lower == "on" || lower == "yes") out = true;
            else if (lower == "0" || lower == "false" || lower == "off" || lower == "no") out = false;
            else return false;
            return true;
        }
        case FieldType::text:
            out = std::string(text);
            return true;
    }
    return false;
}

void emit(const FieldSpec& f, std::optional<std::string_view> raw, ParseOutcome& outcome) {
    Value v;
    if (!raw || !convert(f, *raw, v)) {
        ++outcome.field_errors;
        return;
    }
    Reading r;
    r.metric = f.metric;
    r.value = std::move(v);
    r.unit = f.unit;
    outcome.readings.push_back(std::move(r));
}

}  // namespace

namespace re2_detail {

class Compiled {
public:
    explicit Compiled(const std::string& pattern, const RE2::Options& options) : re(pattern, options) {}
    RE2 re;
};

}  // namespace re2_detail

namespace {

bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// RE2 as packaged in Debian 12 (2022-06-01) knows only the (?P<name>...) spelling of named groups;
// configs have always written (?<name>...), so that spelling is rewritten, outside escapes and
// character classes.
std::string with_python_group_names(const std::string& pattern) {
    std::string out;
    std::set<std::string> names;
    bool in_class = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            out += c;
            out += pattern[++i];
            continue;
        }
        if (in_class) {
            if (c == ']') in_class = false;
            out += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // a ] first is literal
            continue;
        }
        bool angle = pattern.compare(i, 3, "(?<") == 0;
        bool python = pattern.compare(i, 4, "(?P<") == 0;
        if (angle || python) {
            std::size_t start = i + (angle ? 3 : 4);
            if (angle && start < pattern.size() && (pattern[start] == '=' || pattern[start] == '!'))
                throw std::invalid_argument("lookbehind '" + pattern.substr(i, 4) + "' is not supported (RE2 syntax)");
            std::size_t close = pattern.find('>', start);
            if (close == std::string::npos) throw std::invalid_argument("unterminated group name after '(?<'");
            std::string name = pattern.substr(start, close - start);
            if (name.empty()) throw std::invalid_argument("empty group name in '(?<>'");
            for (char n : name)
                if (!word_char(n))
                    throw std::invalid_argument("group name '" + name + "' may hold only letters, digits and '_'");
            if (!names.insert(name).second) throw std::invalid_argument("group name '" + name + "' used twice");
            out += "(?P<" + name + ">";
            i = close;
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

NamedRegex compile_named_regex(const std::string& pattern) {
    RE2::Options options;
    options.set_log_errors(false);
    // Bytes, as before: a line is whatever the device sent, valid UTF-8 or not, and a pattern written
    // in UTF-8 still matches the same bytes in the line.
    options.set_encoding(RE2::Options::EncodingLatin1);
    auto compiled = std::make_shared<re2_detail::Compiled>(with_python_group_names(pattern), options);
    const RE2& re = compiled->re;
    if (!re.ok()) {
        std::string why = "invalid regular expression: " + re.error();
        if (re.error_code() == RE2::ErrorBadPerlOp || re.error_code() == RE2::ErrorBadEscape)
            why += " (RE2 syntax: no lookaround, no backreferences)";
        throw std::invalid_argument(why);
    }
    NamedRegex out;
    for (const auto& [name, index] : re.NamedCapturingGroups()) out.groups.emplace(name, static_cast<std::size_t>(index));
    out.re = std::move(compiled);
    return out;
}

ParseOutcome parse_record(const RecordFormat& format, std::string_view line) {
    ParseOutcome outcome;
    switch (format.format) {
        case Format::regex: {
            const RE2& re = format.regex->re->re;
            std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1);
            if (!re.Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), RE2::UNANCHORED, groups.data(),
                          static_cast<int>(groups.size())))
                return outcome;
            outcome.matched = true;
            for (const auto& f : format.fields) {
                auto it = format.regex->groups.find(f.source);
                std::optional<std::string_view> raw;
                if (it != format.regex->groups.end() && it->second < groups.size() && groups[it->second].data())
                    raw = std::string_view(groups[it->second].data(), groups[it->second].size());
                emit(f, raw, outcome);
            }
            return outcome;
        }
        case Format::keyvalue: {
            std::map<std::string_view, std::string_view> pairs;
            for (std::string_view item : split(line, format.delimiter)) {
                std::size_t pos = item.find(format.pair_separator);
                if (pos == std::string_view::npos) continue;
                pairs[trim(item.substr(0, pos))] = item.substr(pos + format.pair_separator.size());
            }
            for (const auto& f : format.fields) {
                auto it = pairs.find(f.source);
                if (it != pairs.end()) outcome.matched = true;
            }
            if (!outcome.matched) return outcome;
            for (const auto& f : format.fields) {
                auto it = pairs.find(f.source);
                emit(f, it == pairs.end() ? std::nullopt : std::optional<std::string_view>(it->second), outcome);
            }
            return outcome;
        }
        case Format::delimited: {
            if (trim(line).empty()) return outcome;
            auto cols = split(line, format.delimiter);
            outcome.matched = true;
            for (const auto& f : format.fields) {
                std::optional<std::string_view> raw;
                if (f.column >= 0 && static_cast<std::size_t>(f.column) < cols.size()) raw = cols[f.column];
                emit(f, raw, outcome);
            }
            return outcome;
        }
    }
    return outcome;
}

}  // namespace loopgate::line
