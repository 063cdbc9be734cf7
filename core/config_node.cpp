#include "core/config_node.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

namespace loopgate {

namespace {

std::string join_choices(std::initializer_list<const char*> choices) {
    std::string out;
    for (const char* c : choices) {
        if (!out.empty()) out += ", ";
        out += c;
    }
    return out;
}

std::string join_choices(const std::vector<std::string>& choices) {
    std::string out;
    for (const auto& c : choices) out += (out.empty() ? "" : ", ") + c;
    return out;
}

// Levenshtein distance, to suggest the key the operator probably meant.
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// Splits "100ms" into 100 and "ms".
bool split_number_unit(const std::string& s, double& number, std::string& unit) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return false;
    try {
        std::size_t used = 0;
        number = std::stod(s.substr(0, i), &used);
        if (used != i) return false;
    } catch (const std::exception&) {
        return false;
    }
    std::size_t j = i;
    while (j < s.size() && s[j] == ' ') ++j;
    unit = s.substr(j);
    return true;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) out += (out.empty() ? "" : "\n") + line;
    return out;
}

// A file full of mistakes (or a fuzzer's input) must not produce an unbounded report.
constexpr std::size_t kMaxReportedErrors = 100;

}  // namespace

ConfigError::ConfigError(const std::string& message) : std::runtime_error(message), messages_{message} {}

ConfigError::ConfigError(std::vector<std::string> messages)
    : std::runtime_error(join_lines(messages)), messages_(std::move(messages)) {}

void ConfigErrors::add(const ConfigError& e) {
    for (const auto& m : e.messages()) {
        if (messages_.size() == kMaxReportedErrors) {
            messages_.push_back("(more problems not shown)");
            return;
        }
        if (messages_.size() > kMaxReportedErrors) return;
        messages_.push_back(m);
    }
}

void ConfigErrors::throw_if_any() const {
    if (!messages_.empty()) throw ConfigError(messages_);
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    std::string typed = lower(word);
    std::string best;
    std::size_t best_distance = std::string::npos;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(typed, lower(c));
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    // Two edits at most, and no more than half the word: '3' is not a typo of '1'.
    bool likely = best_distance == 0 || (best_distance <= 2 && 2 * best_distance <= best.size());
    return likely && best != word ? " (did you mean '" + best + "'?)" : "";
}

ConfigNode::ConfigNode(YAML::Node node, std::string file, std::string path, YAML::Mark parent_mark)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), parent_mark_(parent_mark) {}

ConfigNode& ConfigNode::operator=(const ConfigNode& other) {
    if (this != &other) {
        node_.reset(other.node_);
        file_ = other.file_;
        path_ = other.path_;
        parent_mark_ = other.parent_mark_;
    }
    return *this;
}

ConfigNode ConfigNode::load_file(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw ConfigError(file + ": cannot open config file");
    std::stringstream text;
    text << in.rdbuf();
    return load_string(text.str(), file);
}

namespace {

std::string mark_text(const std::string& file, const YAML::Mark& m) {
    if (m.is_null()) return file;
    return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

constexpr std::size_t kMaxConfigNodes = 1'000'000;

// A key as written, for comparing keys of one map: scalars by their text, anything else (a
// sequence or map used as a key) by its canonical dump.
std::string key_text(const YAML::Node& key) { return key.IsScalar() ? key.Scalar() : YAML::Dump(key); }

// yaml-cpp keeps every pair of a map but looks keys up first-wins, so `require_signature: false`
// followed by `require_signature: true` would silently mean false, and a second `ports:` list would
// be ignored. Every map, at every depth, is checked; every duplicate found is reported.
struct Walk {
    const std::string& file;
    std::size_t budget;  // nodes left to visit: aliases make a small text a huge tree
    ConfigErrors duplicates;
};

void refuse_duplicate_keys(const YAML::Node& node, Walk& walk, const std::string& path, int depth) {
    const std::string& file = walk.file;
    if (depth > 200) throw ConfigError(mark_text(file, node.Mark()) + ": " + path + ": nesting deeper than 200 levels");
    if (walk.budget-- == 0)
        throw ConfigError(mark_text(file, node.Mark()) + ": " + path + ": more than " +
                          std::to_string(kMaxConfigNodes) + " nodes once aliases are expanded");
    if (node.IsMap()) {
        std::map<std::string, YAML::Mark> seen;
        for (const auto& kv : node) {
            std::string key = key_text(kv.first);
            std::string child = path.empty() ? key : path + "." + key;
            auto [first, fresh] = seen.emplace(key, kv.first.Mark());
            if (!fresh)
                walk.duplicates.add(ConfigError(mark_text(file, kv.first.Mark()) + ": " + child + ": duplicate key '" +
                                                key + "' (first at line " + std::to_string(first->second.line + 1) + ")"));
            refuse_duplicate_keys(kv.second, walk, child, depth + 1);
        }
    } else if (node.IsSequence()) {
        std::size_t i = 0;
        for (const auto& item : node) refuse_duplicate_keys(item, walk, path + "[" + std::to_string(i++) + "]", depth + 1);
    }
}

}  // namespace

ConfigNode ConfigNode::load_string(const std::string& text, const std::string& name) {
    YAML::Node root;
    YAML::Mark second;
    bool two_documents = false;
    try {
        root = YAML::Load(text);
        // Not YAML::LoadAll: on some malformed input (",b") yaml-cpp 0.7's parser hands out empty
        // documents forever without consuming anything. Whether a second one starts is all we ask.
        struct Marks : YAML::EventHandler {
            YAML::Mark start;
            void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
            void OnDocumentEnd() override {}
            void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
            void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
            void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
            void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
            void OnSequenceEnd() override {}
            void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
            void OnMapEnd() override {}
        } marks;
        std::stringstream stream(text);
        YAML::Parser parser(stream);
        if (parser.HandleNextDocument(marks) && parser.HandleNextDocument(marks)) {
            two_documents = true;
            second = marks.start;
        }
    } catch (const YAML::Exception& e) {
        throw ConfigError(mark_text(name, e.mark) + ": YAML syntax error: " + e.msg);
    }
    // Everything after a second `---` would otherwise be ignored without a word.
    if (two_documents)
        throw ConfigError(mark_text(name, second) + ": a second YAML document ('---'); a config file holds exactly one");
    Walk walk{name, kMaxConfigNodes, {}};
    refuse_duplicate_keys(root, walk, "", 0);
    walk.duplicates.throw_if_any();
    return ConfigNode(root, name, "", YAML::Mark());
}

std::string ConfigNode::location() const {
    // An absent key has no mark of its own (yaml-cpp throws when asked): point at its parent map.
    YAML::Mark m = node_.IsDefined() ? node_.Mark() : parent_mark_;
    if (m.is_null()) m = parent_mark_;
    if (m.is_null()) return file_;
    return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

void ConfigNode::fail(const std::string& what) const {
    std::string where = location();
    if (!path_.empty()) where += ": " + path_;
    throw ConfigError(where + ": " + what);
}

void ConfigNode::allow_only(std::initializer_list<const char*> keys) const {
    if (!node_.IsDefined() || node_.IsNull()) return;
    if (!node_.IsMap()) fail("expected a map with keys " + join_choices(keys));
    std::vector<std::string> known(keys.begin(), keys.end());
    ConfigErrors unknown;  // every unknown key of this map, not just the first
    for (const auto& kv : node_) {
        std::string key = kv.first.Scalar();
        if (std::find(known.begin(), known.end(), key) != known.end()) continue;
        ConfigNode at(kv.first, file_, path_.empty() ? key : path_ + "." + key, node_.Mark());
        unknown.check([&] {
            at.fail("unknown key '" + key + "'" + did_you_mean(key, known) + "; expected one of: " + join_choices(keys));
        });
    }
    unknown.throw_if_any();
}

ConfigNode ConfigNode::operator[](const std::string& key) const {
    std::string child_path = path_.empty() ? key : path_ + "." + key;
    YAML::Mark here = node_.IsDefined() && !node_.Mark().is_null() ? node_.Mark() : parent_mark_;
    if (!node_.IsDefined() || node_.IsNull()) return ConfigNode(YAML::Node(YAML::NodeType::Undefined), file_, child_path, here);
    if (!node_.IsMap()) fail("expected a map");
    // Look up without inserting (const access to yaml-cpp nodes).
    const YAML::Node& cnode = node_;
    YAML::Node child = cnode[key];
    // yaml-cpp returns an invalid "zombie" node for a missing key, which cannot even be copied into;
    // hold a valid undefined node instead.
    if (!child.IsDefined()) return ConfigNode(YAML::Node(YAML::NodeType::Undefined), file_, child_path, here);
    return ConfigNode(child, file_, child_path, here);
}

std::vector<ConfigNode> ConfigNode::items() const {
    std::vector<ConfigNode> out;
    if (!present()) return out;
    if (!node_.IsSequence()) fail("expected a list");
    std::size_t i = 0;
    for (const auto& item : node_) {
        out.emplace_back(item, file_, path_ + "[" + std::to_string(i) + "]", node_.Mark());
        ++i;
    }
    return out;
}

ConfigNode ConfigNode::need(const std::string& key) const {
    ConfigNode child = (*this)[key];
    if (!child.present()) {
        ConfigNode where(YAML::Node(YAML::NodeType::Undefined), file_, child.path_, child.parent_mark_);
        where.fail("required field is missing");
    }
    return child;
}

std::string ConfigNode::as_string() const {
    if (!node_.IsScalar()) fail("expected a text value");
    return node_.Scalar();
}

std::int64_t ConfigNode::as_int(std::int64_t min, std::int64_t max) const {
    if (!node_.IsScalar()) fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    const std::string& s = node_.Scalar();
    std::int64_t v = 0;
    try {
        std::size_t used = 0;
        // Decimal, or hexadecimal with 0x (register maps are often written that way). Not base 0:
        // a leading zero must not turn "010" into octal 8.
        bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        long long parsed = std::stoll(s, &used, hex ? 16 : 10);
        if (used != s.size()) throw std::invalid_argument(s);
        v = parsed;
    } catch (const std::exception&) {
        fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" + s + "'");
    }
    if (v < min || v > max)
        fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + s);
    return v;
}

double ConfigNode::as_double() const {
    if (!node_.IsScalar()) fail("expected a number");
    const std::string& s = node_.Scalar();
    try {
        std::size_t used = 0;
        double v = std::stod(s, &used);
        if (used == s.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    fail("expected a number, got '" + s + "'");
}

bool ConfigNode::as_bool() const {
    if (!node_.IsScalar()) fail("expected true or false");
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail("expected true or false, got '" + s + "'");
}

std::string ConfigNode::as_choice(std::initializer_list<const char*> choices) const {
    return as_choice(std::vector<std::string>(choices.begin(), choices.end()));
}

std::string ConfigNode::as_choice(const std::vector<std::string>& choices) const {
    std::string s = as_string();
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
    fail("expected one of " + join_choices(choices) + ", got '" + s + "'" + did_you_mean(s, choices));
}

std::int64_t ConfigNode::as_millis(std::int64_t bare_unit_ms) const {
    std::string s = as_string();
    double n = 0;
    std::string unit;
    if (!split_number_unit(s, n, unit)) fail("expected a duration such as 100ms, 2s or 5min, got '" + s + "'");
    double ms = 0;
    if (unit.empty()) ms = n * static_cast<double>(bare_unit_ms);
    else if (unit == "ms") ms = n;
    else if (unit == "s") ms = n * 1000;
    else if (unit == "min") ms = n * 60'000;
    else if (unit == "h") ms = n * 3'600'000;
    else if (unit == "d") ms = n * 86'400'000;
    else fail("unknown duration unit '" + unit + "' in '" + s + "'; use ms, s, min, h or d");
    return static_cast<std::int64_t>(std::llround(ms));
}

std::uint64_t ConfigNode::as_bytes() const {
    std::string s = as_string();
    double n = 0;
    std::string unit;
    if (!split_number_unit(s, n, unit)) fail("expected a size such as 65536, 64KiB or 1GiB, got '" + s + "'");
    double mult = 0;
    if (unit.empty() || unit == "B") mult = 1;
    else if (unit == "KiB") mult = 1024.0;
    else if (unit == "MiB") mult = 1024.0 * 1024;
    else if (unit == "GiB") mult = 1024.0 * 1024 * 1024;
    else if (unit == "kB" || unit == "KB") mult = 1e3;
    else if (unit == "MB") mult = 1e6;
    else if (unit == "GB") mult = 1e9;
    else fail("unknown size unit '" + unit + "' in '" + s + "'; use B, KiB, MiB, GiB, kB, MB or GB");
    return static_cast<std::uint64_t>(n * mult);
}

std::string ConfigNode::str(const std::string& key, const std::string& def) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_string() : def;
}

std::int64_t ConfigNode::integer(const std::string& key, std::int64_t min, std::int64_t max, std::int64_t def) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_int(min, max) : def;
}

double ConfigNode::real(const std::string& key, double def) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_double() : def;
}

bool ConfigNode::boolean(const std::string& key, bool def) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_bool() : def;
}

std::string ConfigNode::choice(const std::string& key, std::initializer_list<const char*> choices,
                               const std::string& def) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_choice(choices) : def;
}

std::int64_t ConfigNode::millis(const std::string& key, std::int64_t def, std::int64_t bare_unit_ms) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_millis(bare_unit_ms) : def;
}

std::uint64_t ConfigNode::bytes(const std::string& key, std::uint64_t def) const {
    ConfigNode c = (*this)[key];
    return c.present() ? c.as_bytes() : def;
}

}  // namespace loopgate
