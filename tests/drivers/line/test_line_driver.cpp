// The `line` driver: records in, typed readings out; noise and overlong lines counted, never fatal.

#include <catch2/catch.hpp>

#include <cstring>

#include "drivers/framing/line_framer.hpp"
#include "drivers/line/line_driver.hpp"
#include "drivers/line/line_record.hpp"

using namespace loopgate;

namespace {

struct Fed {
    std::unique_ptr<Driver> driver;
    std::vector<Reading> readings;
};

Fed feed(const std::string& yaml, const std::string& bytes) {
    ConfigNode root = ConfigNode::load_string(yaml, "test.yaml");
    DriverSpec spec;
    spec.port.name = "p";
    spec.settings = root["settings"];
    spec.devices = root["devices"];
    Fed f{make_line_driver(spec), {}};
    DriverOutput out;
    DriverClock now{std::chrono::steady_clock::now(), 1'700'000'000'000'000'000};
    f.driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now, out);
    f.readings = std::move(out.readings);
    return f;
}

// The ConfigError a driver built from `yaml` refuses with (the test fails if none is thrown).
std::string config_error(const std::string& yaml) {
    ConfigNode root = ConfigNode::load_string(yaml, "test.yaml");
    DriverSpec spec;
    spec.settings = root["settings"];
    spec.devices = root["devices"];
    try {
        make_line_driver(spec);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("expected a ConfigError");
    return {};
}

const char* keyvalue_config = R"(
settings:
  format: keyvalue
  fields:
    - {field: T, metric: temperature, unit: degC, scale: 0.1, offset: -40}
    - {field: H, metric: humidity, type: int, unit: "%"}
    - {field: OK, metric: ok, type: bool}
    - {field: ID, metric: id, type: string}
devices: [{name: ws1}]
)";

}  // namespace

TEST_CASE("line framer splits at the terminator and bounds line length", "[line]") {
    struct Case {
        const char* name;
        std::string terminator;
        std::size_t max;
        std::string input;
        std::vector<std::string> lines;
        std::uint64_t overlong;
    };
    std::vector<Case> cases = {
        {"LF", "\n", 16, "a\nb\n", {"a", "b"}, 0},
        {"CRLF via LF strips CR", "\n", 16, "a\r\nb\r\n", {"a", "b"}, 0},
        {"CRLF terminator", "\r\n", 16, "a\rb\r\nc\r\n", {"a\rb", "c"}, 0},
        {"partial line waits", "\n", 16, "abc", {}, 0},
        {"exactly max fits", "\n", 4, "abcd\n", {"abcd"}, 0},
        {"one over max is dropped, next line resyncs", "\n", 4, "abcde\nok\n", {"ok"}, 1},
        {"long garbage counted once", "\n", 4, std::string(100, 'x') + "\nok\n", {"ok"}, 1},
        {"multi-byte terminator split over the bound", "\r\n", 4, "abcdefgh\r\nok\r\n", {"ok"}, 1},
        {"custom terminator", ";", 16, "1;2;", {"1", "2"}, 0},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            LineFramer framer(c.terminator, c.max);
            std::vector<std::string> got;
            framer.feed(std::span(reinterpret_cast<const std::uint8_t*>(c.input.data()), c.input.size()),
                        [&](std::string_view l) { got.emplace_back(l); });
            CHECK(got == c.lines);
            CHECK(framer.overlong() == c.overlong);
        }
    }
}

TEST_CASE("line framer finds lines split across reads", "[line]") {
    LineFramer framer("\r\n", 64);
    std::vector<std::string> got;
    for (char c : std::string("T=1\r\nT=2\r\n")) {
        auto b = static_cast<std::uint8_t>(c);
        framer.feed(std::span(&b, 1), [&](std::string_view l) { got.emplace_back(l); });
    }
    CHECK(got == std::vector<std::string>{"T=1", "T=2"});
}

TEST_CASE("keyvalue records become typed, scaled readings", "[line]") {
    auto f = feed(keyvalue_config, "T=653 H=45 OK=on ID=abc\n");
    REQUIRE(f.readings.size() == 4);
    CHECK(f.readings[0].device == "ws1");
    CHECK(f.readings[0].metric == "temperature");
    CHECK(std::get<double>(f.readings[0].value) == Approx(25.3));
    CHECK(f.readings[0].unit == "degC");
    CHECK(std::get<std::int64_t>(f.readings[1].value) == 45);
    CHECK(std::get<bool>(f.readings[2].value) == true);
    CHECK(std::get<std::string>(f.readings[3].value) == "abc");
    CHECK(f.readings[0].receive_time_ns == 1'700'000'000'000'000'000);
    CHECK_FALSE(f.readings[0].source_time_ns.has_value());
}

TEST_CASE("fields that do not convert are counted and skipped, the rest still reported", "[line]") {
    auto f = feed(keyvalue_config, "T=abc H=45.5 OK=maybe ID=x\n");
    REQUIRE(f.readings.size() == 1);
    CHECK(f.readings[0].metric == "id");
    CHECK(f.driver->counters().at("field_errors") == 3);
}

TEST_CASE("lines without any known field are counted as unmatched", "[line]") {
    auto f = feed(keyvalue_config, "hello world\n\nT=1\n");
    CHECK(f.readings.size() == 1);
    CHECK(f.driver->counters().at("unmatched_lines") == 2);
    CHECK(f.driver->counters().at("records") == 1);
}

TEST_CASE("regex with named groups", "[line]") {
    const char* cfg = R"(
settings:
  format: regex
  regex: '^\$WX,(?<dir>\d+),(?:[A-Z]),(?<speed>[0-9.]+)'
  fields:
    - {field: speed, metric: wind_speed, unit: m/s}
    - {field: dir, metric: wind_direction, type: int, unit: deg}
devices: [{name: anemo}]
)";
    auto f = feed(cfg, "$WX,270,N,4.5\r\nnot a record\r\n");
    REQUIRE(f.readings.size() == 2);
    CHECK(std::get<double>(f.readings[0].value) == Approx(4.5));
    CHECK(std::get<std::int64_t>(f.readings[1].value) == 270);
    CHECK(f.driver->counters().at("unmatched_lines") == 1);
}

TEST_CASE("delimited columns", "[line]") {
    const char* cfg = R"(
settings:
  format: delimited
  delimiter: ";"
  fields:
    - {column: 2, metric: flow, unit: "m3/h"}
    - {column: 0, metric: status, type: string}
devices: [{name: fm}]
)";
    auto f = feed(cfg, "RUN;x;12.75\nSTOP;x\n");
    REQUIRE(f.readings.size() == 3);
    CHECK(std::get<double>(f.readings[0].value) == Approx(12.75));
    CHECK(std::get<std::string>(f.readings[1].value) == "RUN");
    CHECK(std::get<std::string>(f.readings[2].value) == "STOP");
    CHECK(f.driver->counters().at("field_errors") == 1);  // STOP line has no column 2
}

TEST_CASE("an overlong line is discarded and counted, and the next record still decodes", "[line]") {
    auto f = feed(keyvalue_config, "T=1 " + std::string(1000, 'x') + "\nH=7\n");
    REQUIRE(f.readings.size() == 1);
    CHECK(std::get<std::int64_t>(f.readings[0].value) == 7);
    CHECK(f.driver->counters().at("overlong_lines") == 1);
}

TEST_CASE("line driver settings are checked with located errors", "[line][config]") {
    struct Case {
        const char* name;
        const char* yaml;
        const char* expected;
    };
    std::vector<Case> cases = {
        {"unknown setting", "settings: {fromat: regex, fields: [{field: a}]}\ndevices: [{name: d}]",
         "test.yaml:1:12: settings.fromat: unknown key 'fromat' (did you mean 'format'?)"},
        {"regex group missing",
         "settings:\n  format: regex\n  regex: '(?<a>x)'\n  fields: [{field: b}]\ndevices: [{name: d}]",
         "settings.fields[0].field: the regex has no group named 'b'"},
        {"bad regex", "settings: {format: regex, regex: '(?<a>x', fields: [{field: a}]}\ndevices: [{name: d}]",
         "settings.regex: invalid regular expression"},
        {"no device", "settings: {fields: [{field: a}]}", "the line driver serves exactly one device"},
        {"bad type", "settings: {fields: [{field: a, type: float}]}\ndevices: [{name: d}]",
         "settings.fields[0].type: expected one of double, int, bool, string, got 'float'"},
        {"metric with slash", "settings: {fields: [{field: a, metric: a/b}]}\ndevices: [{name: d}]",
         "name 'a/b' must not contain '/'"},
        {"no fields", "settings: {format: keyvalue}\ndevices: [{name: d}]", "settings.fields: required field is missing"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            CHECK_THAT(config_error(c.yaml), Catch::Contains(c.expected));
        }
    }
}

TEST_CASE("named-group regex compiler numbers groups in order, in either spelling", "[line]") {
    auto re = line::compile_named_regex(R"((x)(?:y)(?<a>z)[(](?P<b>w)\((?<c>[]<>])[^]<](?<d>q))");
    CHECK(re.groups.at("a") == 2);
    CHECK(re.groups.at("b") == 3);
    CHECK(re.groups.at("c") == 4);
    CHECK(re.groups.at("d") == 5);
    CHECK(re.groups.size() == 4);
    CHECK_THROWS_AS(line::compile_named_regex("(?<a>x)(?<a>y)"), std::invalid_argument);
    CHECK_THROWS_AS(line::compile_named_regex("(?<a>x)(?P<a>y)"), std::invalid_argument);
}

TEST_CASE("regex syntax RE2 lacks is a config error that says so, at the regex", "[line][config]") {
    struct Case {
        const char* name;
        const char* regex;
        const char* expected;
    };
    std::vector<Case> cases = {
        {"lookahead", "(?<a>x)(?=y)", "test.yaml:1:34: settings.regex: invalid regular expression"},
        {"lookbehind", "(?<=y)(?<a>x)", "lookbehind '(?<=' is not supported (RE2 syntax)"},
        {"backreference", "(?<a>x)\\1", "no lookaround, no backreferences"},
        {"group name with a space", "(?<a b>x)", "group name 'a b' may hold only letters, digits and '_'"},
        {"unbalanced", "(?<a>x", "missing )"},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            std::string yaml = std::string("settings: {format: regex, regex: '") + c.regex +
                               "', fields: [{field: a}]}\ndevices: [{name: d}]";
            CHECK_THAT(config_error(yaml), Catch::Contains(c.expected));
        }
    }
}

TEST_CASE("a 65,536-character line through a regex decodes without exhausting the stack", "[line]") {
    // std::regex recursed once per character and overflowed the stack at some 32,000 characters.
    const char* cfg = R"(
settings:
  format: regex
  max_line: 65536
  regex: '^(?<text>.*),(?<n>[0-9]+)$'
  fields:
    - {field: text, type: string}
    - {field: n, type: int}
devices: [{name: d}]
)";
    std::string body(65536 - 3, 'x');
    for (std::size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
    auto f = feed(cfg, body + ",42\n");
    REQUIRE(f.readings.size() == 2);
    CHECK(std::get<std::string>(f.readings[0].value) == body);
    CHECK(std::get<std::int64_t>(f.readings[1].value) == 42);
    CHECK(f.driver->counters().at("overlong_lines") == 0);

    const char* whole = R"(
settings:
  format: regex
  max_line: 65536
  regex: '^(?<t>.*)$'
  fields: [{field: t, type: string}]
devices: [{name: d}]
)";
    auto g = feed(whole, std::string(65536, '(') + "\n");
    REQUIRE(g.readings.size() == 1);
    CHECK(std::get<std::string>(g.readings[0].value).size() == 65536);
}
