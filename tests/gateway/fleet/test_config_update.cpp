// Signed remote configuration: what an update must prove before a gateway takes it, and which
// version a start runs (gateway/fleet/config_update.hpp, gateway/fleet/config_state.hpp).

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "gateway/fleet/config_state.hpp"
#include "gateway/fleet/config_update.hpp"
#include "gateway/security/sha256.hpp"
#include "gateway/security/signed_bytes.hpp"

using namespace loopgate;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000'000'000;

// A state directory with the operator's public key and a running config that trusts it.
struct Fleet {
    fs::path dir = fs::temp_directory_path() / ("loopgate-fleet-" + std::to_string(::getpid()));
    ed25519::Key op = ed25519::Key::generate();
    ed25519::Key stranger = ed25519::Key::generate();
    Config running;

    Fleet() {
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::ofstream(dir / "op.pub") << op.public_pem();
        std::ofstream(dir / "stranger.pub") << stranger.public_pem();
        write(dir / "local.yaml", yaml());
        running = load_config((dir / "local.yaml").string());
    }
    ~Fleet() { fs::remove_all(dir); }

    static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

    std::string yaml(const std::string& baud = "9600", const std::string& extra = "") const {
        return "gateway: {id: gw1}\n"
               "uplink: {broker: \"tcp://localhost:1883\"}\n"
               "store: {path: " + (dir / "store.db").string() + "}\n"
               "remote_config: {enabled: true, keys: [" + (dir / "op.pub").string() + "], health_timeout: 5s}\n" +
               extra +
               "ports:\n"
               "  - name: met\n"
               "    path: /dev/ttyUSB0\n"
               "    baud: " + baud + "\n"
               "    driver: line\n"
               "    settings: {fields: [{field: T}]}\n"
               "    devices: [{name: ws1}]\n";
    }

    v1::ConfigUpdate update(const std::string& text, std::uint64_t version = 5) const {
        v1::ConfigUpdate u;
        u.set_yaml(text);
        u.set_version(version);
        u.set_gateway_id("gw1");
        u.set_expires_ns(kNow + 60'000'000'000);
        return u;
    }

    static std::string signed_by(v1::ConfigUpdate u, const ed25519::Key& key) {
        u.set_key_id(key.id());
        u.set_signature(key.sign(signed_bytes(u)));
        return u.SerializeAsString();
    }

    UpdateDecision check(const std::string& payload, bool retained = false, std::uint64_t highest = 4) const {
        ConfigUpdateChecker checker(running.remote_config);
        return checker.check(payload, retained, running, highest, kNow);
    }
};

}  // namespace

TEST_CASE("remote config: a signed, current, valid update for this gateway is accepted", "[fleet]") {
    Fleet f;
    std::string text = f.yaml("19200");
    UpdateDecision d = f.check(Fleet::signed_by(f.update(text), f.op));
    CHECK(d.refusal == "");
    CHECK(d.version == 5);
    CHECK(d.sha256 == sha256_hex(text));
    REQUIRE(d.config);
    CHECK(d.config->ports.at(0).baud == 19200);
    CHECK(d.yaml == text);
}

TEST_CASE("remote config: every update that must not be taken is refused with its reason", "[fleet]") {
    Fleet f;
    const std::string good = f.yaml("19200");
    auto refusal = [&](const std::string& payload, bool retained = false) { return f.check(payload, retained).refusal; };

    v1::ConfigUpdate other_gw = f.update(good);
    other_gw.set_gateway_id("gw2");
    v1::ConfigUpdate expired = f.update(good);
    expired.set_expires_ns(kNow - 2'000'000'000);
    v1::ConfigUpdate no_expiry = f.update(good);
    no_expiry.set_expires_ns(0);
    std::string forged_id = [&] {
        v1::ConfigUpdate u = f.update(good);
        u.set_key_id(f.op.id());  // claims the operator's key, signed by someone else
        u.set_signature(f.stranger.sign(signed_bytes(u)));
        return u.SerializeAsString();
    }();
    std::string tampered = [&] {
        v1::ConfigUpdate u;
        u.ParseFromString(Fleet::signed_by(f.update(good), f.op));
        u.set_version(6);  // changed after signing
        return u.SerializeAsString();
    }();

    struct Case {
        const char* what;
        std::string payload;
        bool retained;
        const char* reason_starts;
    };
    const Case cases[] = {
        {"unsigned", f.update(good).SerializeAsString(), false, "unsigned"},
        {"signed by a key not in remote_config.keys", Fleet::signed_by(f.update(good), f.stranger), false, "unknown key_id"},
        {"signature by another key under the operator's key id", forged_id, false, "bad signature"},
        {"changed after signing", tampered, false, "bad signature"},
        {"replayed: the version already accepted", Fleet::signed_by(f.update(good, 4), f.op), false, "version 4 is not above 4"},
        {"older version", Fleet::signed_by(f.update(good, 3), f.op), false, "version 3 is not above 4"},
        {"for another gateway", Fleet::signed_by(other_gw, f.op), false, "for gateway 'gw2'"},
        {"expired", Fleet::signed_by(expired, f.op), false, "expired 2000 ms ago"},
        {"without an expiry", Fleet::signed_by(no_expiry, f.op), false, "missing expires_ns"},
        {"retained", Fleet::signed_by(f.update(good), f.op), true, "retained message"},
        {"not a ConfigUpdate", std::string("\xff\xff\xff garbage", 12), false, "payload is not a loopgate.v1.ConfigUpdate"},
        {"too large", std::string(kMaxConfigUpdateBytes + 1, 'x'), false, "update too large"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK_THAT(refusal(c.payload, c.retained), Catch::StartsWith(c.reason_starts));
    }
}

TEST_CASE("remote config: an invalid YAML is refused with the located errors check-config gives", "[fleet]") {
    Fleet f;
    UpdateDecision d = f.check(Fleet::signed_by(f.update(f.yaml("9601"), 7), f.op));
    CHECK_THAT(d.refusal, Catch::StartsWith("invalid configuration: remote config version 7:8:11: ports[0].baud: "
                                            "unsupported baud rate 9601"));
    CHECK(d.version == 7);
    CHECK_FALSE(d.config);

    d = f.check(Fleet::signed_by(f.update("gateway: {id: gw1\n"), f.op));
    CHECK_THAT(d.refusal, Catch::StartsWith("invalid configuration: remote config version 5:"));
}

TEST_CASE("remote config: settings that would lock out the owner may not change remotely", "[fleet]") {
    Fleet f;
    auto refusal = [&](std::string text) { return f.check(Fleet::signed_by(f.update(text), f.op)).refusal; };
    auto swap = [](std::string s, const std::string& from, const std::string& to) {
        return s.replace(s.find(from), from.size(), to);
    };
    const std::string base = f.yaml();
    const std::string op_pub = (f.dir / "op.pub").string(), stranger_pub = (f.dir / "stranger.pub").string();
    CHECK_THAT(refusal(swap(base, "keys: [" + op_pub + "]", "keys: [" + stranger_pub + "]")),
               Catch::StartsWith("remote_config.keys may not be changed remotely"));
    CHECK_THAT(refusal(swap(base, "health_timeout: 5s", "health_timeout: 6s")),
               Catch::StartsWith("remote_config.health_timeout may not be changed remotely"));
    CHECK_THAT(refusal(swap(base, "remote_config: {enabled: true, keys: [" + op_pub + "], health_timeout: 5s}\n", "")),
               Catch::StartsWith("remote_config.enabled may not be changed remotely"));
    CHECK_THAT(refusal(swap(base, "store.db", "elsewhere.db")), Catch::StartsWith("store.path may not be changed remotely"));
    CHECK_THAT(refusal(f.yaml("9600", "commands: {operator_keys: [" + stranger_pub + "]}\n")),
               Catch::StartsWith("commands.operator_keys may not be changed remotely"));
    CHECK_THAT(refusal(swap(base, "broker: \"tcp://localhost:1883\"",
                            "broker: \"tcp://localhost:1883\", credentials_file: /tmp/creds")),
               Catch::StartsWith("uplink.credentials_file may not be changed remotely"));
    CHECK_THAT(refusal(swap(base, "id: gw1", "id: gw9")), Catch::StartsWith("gateway.id may not be changed remotely"));
}

TEST_CASE("remote config section: off by default, keys apart from operator keys, 60 s health timeout", "[fleet][config]") {
    Fleet f;
    Config plain = parse_config(ConfigNode::load_string(
        "gateway: {id: gw1}\nuplink: {broker: \"tcp://localhost:1883\"}\nstore: {path: /tmp/x.db}\nports: []\n", "gw.yaml"));
    CHECK_FALSE(plain.remote_config.enabled);
    CHECK(plain.remote_config.health_timeout_ms == 60'000);
    CHECK(f.running.remote_config.enabled);
    CHECK(f.running.remote_config.keys == std::vector<std::string>{(f.dir / "op.pub").string()});
    CHECK(f.running.commands.operator_keys.empty());
    auto error_of = [](const std::string& section) {
        try {
            parse_config(ConfigNode::load_string("gateway: {id: gw1}\nuplink: {broker: \"tcp://localhost:1883\"}\n"
                                                 "store: {path: /tmp/x.db}\nports: []\nremote_config: " + section + "\n",
                                                 "gw.yaml"));
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(error_of("{enabled: true}"), Catch::Contains("remote_config.enabled: remote_config needs at least one key"));
    CHECK_THAT(error_of("{enabled: true, keys: [/nonexistent.pub]}"), Catch::Contains("remote_config.keys[0]"));
    CHECK_THAT(error_of("{health_timeout: 0s}"), Catch::Contains("expected a duration from 1s to 1h"));
    CHECK_THAT(error_of("{enable: true}"), Catch::Contains("did you mean 'enabled'"));
}

TEST_CASE("boot selection: a pending version gets one start, and a start that dies with it rolls back", "[fleet]") {
    RemoteConfigState s;
    CHECK(choose_boot(s, kNow, 5000).version == 0);  // nothing remote: the local file

    s.highest = 8;
    s.good = 7;
    s.pending = 8;
    BootChoice first = choose_boot(s, kNow, 5000);
    CHECK(first.version == 8);
    CHECK(first.trial);
    CHECK(s.pending == 0);
    CHECK(s.trial == 8);
    CHECK(s.trial_deadline_ns == kNow + 5'000'000'000);

    // The process died (kill -9, power cut) before the trial passed the health gate.
    BootChoice second = choose_boot(s, kNow, 5000);
    CHECK(second.version == 7);
    CHECK_FALSE(second.trial);
    CHECK(s.trial == 0);
    CHECK(s.report_version == 8);
    CHECK(s.report_status == "rolled_back");
    CHECK_THAT(s.report_reason, Catch::Contains("while version 8 was on trial"));
    CHECK(s.highest == 8);  // a rolled-back version is never taken again
}

TEST_CASE("boot selection: the state file round-trips and a damaged one is reported", "[fleet]") {
    RemoteConfigState s;
    s.highest = 12;
    s.good = 11;
    s.trial = 12;
    s.trial_deadline_ns = kNow;
    s.report_version = 12;
    s.report_status = "rolled_back";
    s.report_reason = "line one\nline two";
    s.report_sha256 = "ab";
    std::string problem;
    RemoteConfigState back = parse_state(format_state(s), problem);
    CHECK(problem == "");
    CHECK(back.report_reason == "line one line two");
    back.report_reason = s.report_reason;
    CHECK(back == s);
    parse_state("highest=12x\n", problem);
    CHECK(problem == "1: highest: expected a whole number from 0 to 18446744073709551615, got '12x'");
}

TEST_CASE("boot selection: every version over the whole uint64 range round-trips through the state file", "[fleet]") {
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, (std::uint64_t{1} << 53) + 1, (std::uint64_t{1} << 63) - 1,
                            std::uint64_t{1} << 63, max - 1, max}) {
        INFO(v);
        RemoteConfigState s;
        s.highest = s.good = s.pending = s.trial = s.report_version = v;
        s.trial_deadline_ns = v % 2 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
        std::string problem;
        RemoteConfigState back = parse_state(format_state(s), problem);
        CHECK(problem == "");
        CHECK(back == s);
    }
}

TEST_CASE("boot selection: a damaged state file is reported with its line and read as no state at all", "[fleet]") {
    const std::string expected = "expected a whole number from 0 to 18446744073709551615, got ";
    struct Case {
        const char* what;
        std::string text;
        std::string problem;
    };
    const Case cases[] = {
        {"one above uint64", "highest=18446744073709551616\n", "1: highest: " + expected + "'18446744073709551616'"},
        {"negative", "highest=-1\n", "1: highest: " + expected + "'-1'"},
        {"trailing junk", "highest=12x\n", "1: highest: " + expected + "'12x'"},
        {"empty", "highest=\n", "1: highest: " + expected + "''"},
        {"a space", "highest= 12\n", "1: highest: " + expected + "' 12'"},
        {"a sign", "highest=+12\n", "1: highest: " + expected + "'+12'"},
        {"a later field", "highest=12\ngood=1e3\n", "2: good: " + expected + "'1e3'"},
        {"a deadline beyond int64", "highest=12\ntrial_deadline_ns=9223372036854775808\n",
         "2: trial_deadline_ns: expected a whole number from -9223372036854775808 to 9223372036854775807, got "
         "'9223372036854775808'"},
        {"a control byte, shown escaped", "highest=1\x1b[2J\n", "1: highest: " + expected + "'1\\x1b[2J'"},
        {"given twice", "highest=12\nhighest=3\n", "2: highest given twice"},
        {"no mark at all", "good=3\n", "no highest= line (the replay mark)"},
        {"an empty file", "", "no highest= line (the replay mark)"},
        {"a line without =", "highest=12\ngarbage\n", "2: line without '=': 'garbage'"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        std::string problem;
        parse_state(c.text, problem);
        CHECK(problem == c.problem);
    }
}

TEST_CASE("boot selection on disk: an unreadable state runs the local file, is left as it is and is not reverted", "[fleet]") {
    Fleet f;
    const std::string local = (f.dir / "local.yaml").string();
    const std::string dir = remote_config_dir(f.running);
    const std::string path = state_file_path(dir);
    REQUIRE(save_version(dir, 9, f.yaml("19200")) == "");
    RemoteConfigState s;
    s.highest = 12;
    s.good = 9;
    REQUIRE(save_state(path, s) == "");
    std::string damaged = format_state(s);
    damaged.replace(damaged.find("highest=12"), 10, "highest=1O");  // a letter O for a zero
    Fleet::write(path, damaged);

    Boot boot = boot_config(local, kNow);
    CHECK(boot.version == 0);
    CHECK(boot.config.ports.at(0).baud == 9600);
    CHECK(boot.state_problem == path + ":1: highest: expected a whole number from 0 to 18446744073709551615, got '1O'");
    std::string problem;
    CHECK(load_state(path, problem) == RemoteConfigState{});  // no mark, not a mark of 0
    CHECK(problem == boot.state_problem);
    std::string revert = revert_remote_config(f.running);
    CHECK_THAT(revert, Catch::StartsWith(boot.state_problem + "; not reverted"));
    std::ifstream in(path);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == damaged);  // neither boot nor revert wrote over it
    CHECK(fs::exists(version_file_path(dir, 9)));
}

TEST_CASE("remote config: versions at and beyond 2^63 are ordered like any other", "[fleet]") {
    Fleet f;
    const std::uint64_t big = std::uint64_t{1} << 63, max = std::numeric_limits<std::uint64_t>::max();
    const std::string text = f.yaml("19200");
    CHECK(f.check(Fleet::signed_by(f.update(text, big), f.op), false, big - 1).refusal == "");
    CHECK(f.check(Fleet::signed_by(f.update(text, max), f.op), false, big).refusal == "");
    CHECK(f.check(Fleet::signed_by(f.update(text, big), f.op), false, max).refusal ==
          "version 9223372036854775808 is not above 18446744073709551615, the highest this gateway has accepted "
          "(replayed or out of order)");
}

TEST_CASE("remote config: a refusal shows the sender's gateway_id escaped and cut", "[fleet]") {
    Fleet f;
    v1::ConfigUpdate u = f.update(f.yaml());
    u.set_gateway_id("gw1x\nloopgate error: forged line\n" + std::string(20'000, 'A'));
    std::string refusal = f.check(u.SerializeAsString()).refusal;
    CHECK(refusal ==
          "for gateway 'gw1x\\x0aloopgate error: forged line\\x0aAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...(20033 bytes)', this is 'gw1'");
}

TEST_CASE("boot selection on disk: trial, rollback after a crash, revert keeps the replay guard", "[fleet]") {
    Fleet f;
    const std::string local = (f.dir / "local.yaml").string();
    const std::string dir = remote_config_dir(f.running);
    CHECK(dir == (f.dir / "config").string());

    Boot plain = boot_config(local, kNow);
    CHECK(plain.version == 0);
    CHECK(plain.sha256 == sha256_hex(f.yaml()));

    const std::string v9 = f.yaml("19200");
    REQUIRE(save_version(dir, 9, v9) == "");
    RemoteConfigState s;
    s.highest = 9;
    s.pending = 9;
    REQUIRE(save_state(state_file_path(dir), s) == "");

    Boot trial = boot_config(local, kNow);
    CHECK(trial.version == 9);
    CHECK(trial.trial);
    CHECK(trial.sha256 == sha256_hex(v9));
    CHECK(trial.config.ports.at(0).baud == 19200);
    CHECK(trial.changed_ports == std::vector<std::string>{"met"});

    Boot after_crash = boot_config(local, kNow);
    CHECK(after_crash.version == 0);
    CHECK_FALSE(after_crash.trial);
    CHECK(after_crash.config.ports.at(0).baud == 9600);
    std::string problem;
    RemoteConfigState on_disk = load_state(state_file_path(dir), problem);
    CHECK(on_disk.report_status == "rolled_back");
    CHECK(on_disk.report_version == 9);

    // Committed as last-known-good, it runs at every start until reverted.
    on_disk.good = 9;
    REQUIRE(save_state(state_file_path(dir), on_disk) == "");
    CHECK(boot_config(local, kNow).version == 9);
    CHECK(boot_config(local, kNow).version == 9);
    REQUIRE(revert_remote_config(f.running) == "");
    CHECK(boot_config(local, kNow).version == 0);
    CHECK_FALSE(fs::exists(version_file_path(dir, 9)));
    CHECK(load_state(state_file_path(dir), problem).highest == 9);
}
