#pragma once
// Strict, located access to YAML config.
//
// Every accessor knows the file, the line and column of the node, and its dotted path
// (ports[1].settings.terminator), so that any error tells the operator exactly where to look and what
// was expected. Unknown keys are errors (allow_only): a typo must never silently disable a sensor.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace loopgate {

// One or more located problems ("file:line:col: path: message"); what() holds them one per line.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(const std::string& message);
    explicit ConfigError(const char* message) : ConfigError(std::string(message)) {}
    explicit ConfigError(std::vector<std::string> messages);
    const std::vector<std::string>& messages() const { return messages_; }

private:
    std::vector<std::string> messages_;
};

// Lets a parser go on past a bad item (a section, a port, a device, a point) so that one run of
// check-config reports every problem, not just the first. Each level collects its own items and
// rethrows them together, so a caller sees one ConfigError holding all of them, in parse order.
class ConfigErrors {
public:
    // Runs `parse_item`; a ConfigError it throws is recorded. Returns whether the item parsed.
    template <class ParseItem>
    bool check(ParseItem&& parse_item) {
        try {
            parse_item();
            return true;
        } catch (const ConfigError& e) {
            add(e);
            return false;
        }
    }
    void add(const ConfigError& e);
    bool empty() const { return messages_.empty(); }
    // Throws one ConfigError holding everything recorded, if anything was.
    void throw_if_any() const;

private:
    std::vector<std::string> messages_;
};

// " (did you mean 'x'?)" when `word` is a likely typo of one of `candidates` (close in spelling,
// or equal but for case); "" otherwise. Used for unknown keys, enum values and driver names alike.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

class ConfigNode {
public:
    ConfigNode() = default;
    ConfigNode(YAML::Node node, std::string file, std::string path, YAML::Mark parent_mark = {});
    ConfigNode(const ConfigNode&) = default;
    // yaml-cpp's Node::operator= writes into the node it refers to; a ConfigNode must rebind instead,
    // or assigning one would silently edit the parsed config.
    ConfigNode& operator=(const ConfigNode& other);

    // Parses a whole file; throws ConfigError naming the file (and line) when it cannot be read or parsed.
    static ConfigNode load_file(const std::string& file);
    static ConfigNode load_string(const std::string& text, const std::string& name);

    bool present() const { return node_.IsDefined() && !node_.IsNull(); }
    bool is_map() const { return node_.IsMap(); }
    bool is_sequence() const { return node_.IsSequence(); }
    const std::string& path() const { return path_; }
    const std::string& file() const { return file_; }
    const YAML::Node& yaml() const { return node_; }

    // "file:line:col" of this node (or of its parent map when the key is absent).
    std::string location() const;
    [[noreturn]] void fail(const std::string& what) const;

    // Requires a map (an absent node counts as an empty map) holding no keys but these.
    void allow_only(std::initializer_list<const char*> keys) const;

    ConfigNode operator[](const std::string& key) const;  // child; may be absent
    std::vector<ConfigNode> items() const;                // elements of a sequence (absent = none)

    // Scalars of this node.
    std::string as_string() const;
    std::int64_t as_int(std::int64_t min, std::int64_t max) const;
    double as_double() const;
    bool as_bool() const;
    // One of a fixed set of words; the error lists them and suggests the one probably meant.
    std::string as_choice(std::initializer_list<const char*> choices) const;
    std::string as_choice(const std::vector<std::string>& choices) const;
    // A duration such as "100ms", "2s", "5min", "1h"; a bare number is taken in `bare_unit_ms` milliseconds.
    std::int64_t as_millis(std::int64_t bare_unit_ms = 1) const;
    // A size such as "64KiB", "1GiB", "500MB"; a bare number is bytes.
    std::uint64_t as_bytes() const;

    // Keyed conveniences: required when no default is given.
    std::string str(const std::string& key) const { return need(key).as_string(); }
    std::string str(const std::string& key, const std::string& def) const;
    std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max) const {
        return need(key).as_int(min, max);
    }
    std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max, std::int64_t def) const;
    double real(const std::string& key, double def) const;
    bool boolean(const std::string& key, bool def) const;
    std::string choice(const std::string& key, std::initializer_list<const char*> choices,
                       const std::string& def) const;
    std::int64_t millis(const std::string& key, std::int64_t def, std::int64_t bare_unit_ms = 1) const;
    std::uint64_t bytes(const std::string& key, std::uint64_t def) const;

    ConfigNode need(const std::string& key) const;  // child that must be present

private:
    YAML::Node node_;
    std::string file_;
    std::string path_;
    YAML::Mark parent_mark_;  // where to point when this node is absent
};

}  // namespace loopgate
