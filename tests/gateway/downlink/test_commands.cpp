// Commands pushed down from the broker: each check table-tested with fake time, then the whole
// pipeline (decode -> checks -> target) through CommandProcessor. Also: names used in topics are
// validated for every place a name comes from (gateway, port, each driver's devices and metrics).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "gateway/config.hpp"
#include "tests/gateway/config_error.hpp"
#include "gateway/downlink/command_check.hpp"
#include "gateway/security/batch_signer.hpp"
#include "gateway/security/signed_bytes.hpp"

using namespace loopgate;
using loopgate::testing::config_error;

namespace {

constexpr std::int64_t s = 1'000'000'000;
constexpr std::int64_t now = 1'700'000'000 * s;

v1::Command command(const std::string& id, const std::string& device = "meter", const std::string& point = "setpoint") {
    v1::Command c;
    c.set_id(id);
    c.set_device(device);
    c.set_point(point);
    c.set_double_value(42.5);
    c.set_expires_ns(now + 10 * s);
    return c;
}

std::string bytes(const v1::Command& c) {
    std::string out;
    c.SerializeToString(&out);
    return out;
}

// The gate and the port as CommandPath would be: one device, a rate of 3/s, one writable point.
struct FakeTarget {
    RateLimiter rate{3};
    std::vector<std::string> writes;
    CommandTarget target() {
        CommandTarget t;
        t.admit = [this](const std::string& d, std::int64_t now_ns) -> Refusal {
            if (d != "meter") return {"unknown_device", "no port has a device '" + d + "'"};
            if (auto e = rate.admit(d, now_ns); !e.empty()) return {"rate", e};
            return {};
        };
        t.submit = [this](const v1::Command& c) -> Refusal {
            if (c.point() != "setpoint") return {"driver", "point '" + c.point() + "' of device '" + c.device() + "' is not writable"};
            if (c.double_value() > 100) return {"driver", "value 150 is above max 100"};
            writes.push_back(c.device() + "/" + c.point());
            return {};
        };
        return t;
    }
};

}  // namespace

TEST_CASE("command expiry: required, not passed, not too far ahead", "[commands]") {
    struct Row {
        std::int64_t expires;
        const char* error;  // substring; "" = accepted
    };
    const std::int64_t life = 60 * s;
    for (const Row& r : std::vector<Row>{{now + 1 * s, ""},
                                         {now, ""},
                                         {now + 60 * s, ""},
                                         {0, "missing expires_ns"},
                                         {-5, "missing expires_ns"},
                                         {now - 1, "expired"},
                                         {now - 3 * s, "expired 3000 ms ago"},
                                         {now + 61 * s, "too far ahead"}}) {
        INFO("expires " << r.expires);
        std::string e = check_expiry(r.expires, now, life);
        if (*r.error) CHECK_THAT(e, Catch::Contains(r.error));
        else CHECK(e.empty());
    }
}

TEST_CASE("command shape: id, names and value", "[commands]") {
    CHECK(check_shape(command("a")).empty());
    auto with = [](auto edit) {
        v1::Command c = command("a");
        edit(c);
        return check_shape(c);
    };
    CHECK_THAT(with([](v1::Command& c) { c.clear_id(); }), Catch::Contains("missing id"));
    CHECK_THAT(with([](v1::Command& c) { c.set_id(std::string(129, 'x')); }), Catch::Contains("longer than 128"));
    CHECK_THAT(with([](v1::Command& c) { c.set_id("a\nb"); }), Catch::Contains("control"));
    CHECK_THAT(with([](v1::Command& c) { c.set_device("a/b"); }), Catch::Contains("device:"));
    CHECK_THAT(with([](v1::Command& c) { c.set_point("#"); }), Catch::Contains("point:"));
    CHECK_THAT(with([](v1::Command& c) { c.set_point(""); }), Catch::Contains("point: must not be empty"));
    CHECK_THAT(with([](v1::Command& c) { c.clear_value(); }), Catch::Contains("missing value"));
}

TEST_CASE("replay guard remembers ids until they expire, and never forgets a live one", "[commands]") {
    ReplayGuard g(2);
    CHECK(g.check("a", now).empty());
    g.remember("a", now + 5 * s);
    CHECK_THAT(g.check("a", now + 1 * s), Catch::Contains("repeated id 'a'"));
    g.remember("b", now + 10 * s);
    CHECK_THAT(g.check("c", now + 1 * s), Catch::Contains("too many live command ids"));
    // a expired: its slot is free again (and a itself could no longer pass the expiry check).
    CHECK(g.check("c", now + 6 * s).empty());
    CHECK(g.size() == 1);
}

TEST_CASE("rate limit: a token bucket per device", "[commands]") {
    RateLimiter r(2);  // 2/s, bursts of 2
    CHECK(r.admit("m", now).empty());
    CHECK(r.admit("m", now).empty());
    CHECK_THAT(r.admit("m", now), Catch::Contains("rate limit"));
    CHECK(r.admit("other", now).empty());  // per device
    CHECK(r.admit("m", now + s / 2).empty());  // one token back after 0.5 s
    CHECK_FALSE(r.admit("m", now + s / 2).empty());
    RateLimiter slow(0.5);  // 30/min: burst of 1
    CHECK(slow.admit("m", now).empty());
    CHECK_FALSE(slow.admit("m", now + s).empty());
    CHECK(slow.admit("m", now + 2 * s).empty());
}

TEST_CASE("Sparkplug DCMD writes pass the same gate as native commands", "[commands][sparkplug]") {
    CommandsConfig c;
    CHECK_THAT(dcmd_refusal(c), Catch::Contains("commands.enabled: false"));  // off unless enabled
    c.enabled = true;
    CHECK(dcmd_refusal(c).empty());
    c.require_signature = true;  // a DCMD has nowhere to carry the signature: never accepted then
    CHECK_THAT(dcmd_refusal(c), Catch::Contains("require_signature") && Catch::Contains("no operator signature"));
}

TEST_CASE("rate syntax in the config", "[commands][config]") {
    auto rate = [](const std::string& text) {
        return parse_rate(ConfigNode::load_string("r: \"" + text + "\"\n", "t.yaml")["r"]);
    };
    CHECK(rate("5/s") == 5);
    CHECK(rate("30/min") == Approx(0.5));
    CHECK(rate("3600/h") == Approx(1));
    CHECK(rate("2") == 2);
    CHECK_THROWS_AS(rate("5/day"), ConfigError);
    CHECK_THROWS_AS(rate("0/s"), ConfigError);
    CHECK_THROWS_AS(rate("x/s"), ConfigError);
}

TEST_CASE("command processor: every refusal answered, accepted ones written once", "[commands]") {
    CommandsConfig cfg;
    cfg.enabled = true;
    cfg.rate_per_second = 3;
    CommandProcessor p(cfg, "gw1");
    FakeTarget fake;
    auto run = [&](const std::string& payload, std::int64_t t = now) { return p.process(payload, t, fake.target()); };

    // Handed on, its outcome not known yet: the reply waits for the device.
    Admission ok = run(bytes(command("c1")));
    CHECK(ok.submitted());
    CHECK(ok.reason.empty());
    CHECK(ok.result.id() == "c1");
    CHECK(ok.result.gateway_id() == "gw1");
    CHECK(ok.result.time_ns() == now);
    CHECK(fake.writes.size() == 1);

    struct Row {
        std::string what;
        std::string payload;
        std::string error;
        std::string reason;
    };
    v1::Command expired = command("c3");
    expired.set_expires_ns(now - s);
    v1::Command no_expiry = command("c4");
    no_expiry.clear_expires_ns();
    v1::Command too_big = command("c6");
    too_big.set_double_value(150);
    for (const Row& r : std::vector<Row>{
             {"garbage", "\xff\xff\xff", "not a loopgate.v1.Command", "malformed"},
             {"no id", bytes(command("")), "missing id", "malformed"},
             {"replayed id", bytes(command("c1")), "repeated id 'c1'", "replay"},
             {"expired", bytes(expired), "expired", "expiry"},
             {"no expiry", bytes(no_expiry), "missing expires_ns", "expiry"},
             {"unknown device", bytes(command("c5", "pump")), "no port has a device 'pump'", "unknown_device"},
             {"not writable", bytes(command("c8", "meter", "voltage")), "not writable", "driver"},
             {"out of range", bytes(too_big), "above max", "driver"},
             {"rate limited", bytes(command("c7")), "rate limit", "rate"},
         }) {
        INFO(r.what);
        Admission res = run(r.payload);
        CHECK(res.result.status() == v1::CommandResult::REFUSED);
        CHECK_THAT(res.result.error(), Catch::Contains(r.error));
        CHECK(res.reason == r.reason);
    }
    CHECK(fake.writes.size() == 1);
    // c7 was refused for its rate, not remembered: it may come again once the bucket refilled.
    CHECK(run(bytes(command("c7")), now + 2 * s).submitted());
}

TEST_CASE("command signatures by operator keys", "[commands][signing]") {
    ed25519::Key op = ed25519::Key::generate();
    ed25519::Key other = ed25519::Key::generate();
    auto signed_by = [](const ed25519::Key& k, v1::Command c, bool with_id = true) {
        if (with_id) c.set_key_id(k.id());
        c.set_signature(k.sign(signed_bytes(c)));
        return c;
    };
    OperatorKeys keys;
    keys.add(op);
    CHECK(keys.check(signed_by(op, command("a")), true).empty());
    CHECK(keys.check(signed_by(op, command("a"), false), true).empty());  // no key_id: any key may match
    CHECK_THAT(keys.check(command("a"), true), Catch::Contains("missing signature"));
    CHECK(keys.check(command("a"), false).empty());
    CHECK_THAT(keys.check(signed_by(other, command("a")), false), Catch::Contains("unknown key_id"));
    CHECK_THAT(keys.check(signed_by(other, command("a"), false), false), Catch::Equals("bad signature"));
    v1::Command tampered = signed_by(op, command("a"));
    tampered.set_double_value(99);
    CHECK_THAT(keys.check(tampered, true), Catch::Equals("bad signature"));

    CommandsConfig cfg;
    cfg.require_signature = true;
    OperatorKeys k2;
    k2.add(op);
    CommandProcessor p(cfg, "gw1", std::move(k2));
    FakeTarget fake;
    CHECK(p.process(bytes(signed_by(op, command("s1"))), now, fake.target()).submitted());
    // `verify` is part of what is signed: turning it on after signing breaks the signature.
    v1::Command verified = signed_by(op, command("s2"));
    verified.set_verify(true);
    CHECK(p.process(bytes(verified), now, fake.target()).reason == "signature");
    Admission bad = p.process(bytes(tampered), now, fake.target());
    CHECK(bad.result.status() == v1::CommandResult::REFUSED);
    CHECK(bad.result.error() == "bad signature");
    CHECK(bad.reason == "signature");
    CHECK(fake.writes.size() == 1);
}

TEST_CASE("signed batches verify, and any change to them does not", "[signing]") {
    BatchSigner signer(ed25519::Key::generate());
    v1::Batch b;
    b.set_gateway_id("gw1");
    b.set_batch_sequence(7);
    std::string batch;
    b.SerializeToString(&batch);
    std::string payload = signer.wrap(batch);
    v1::SignedBatch sb;
    REQUIRE(sb.ParseFromString(payload));
    CHECK(sb.key_id() == signer.key_id());
    CHECK(sb.batch() == batch);
    CHECK(sb.signature().size() == 64);
}

TEST_CASE("keys round-trip through PEM files, and verify_signed_batch checks them", "[signing]") {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("loopgate-keys-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    ed25519::Key k = ed25519::Key::generate();
    std::ofstream(dir / "k.key") << k.private_pem();
    std::ofstream(dir / "k.pub") << k.public_pem();
    ed25519::Key priv = ed25519::Key::load_private((dir / "k.key").string());
    ed25519::Key pub = ed25519::Key::load_public((dir / "k.pub").string());
    CHECK(priv.id() == k.id());
    CHECK(pub.id() == k.id());
    BatchSigner signer(priv);
    std::string out;
    CHECK(verify_signed_batch(signer.wrap("hello"), pub, out).empty());
    CHECK(out == "hello");
    std::string payload = signer.wrap("hello");
    payload[payload.find("hello")] = 'j';
    CHECK_THAT(verify_signed_batch(payload, pub, out), Catch::StartsWith("BAD SIGNATURE"));
    CHECK_THAT(verify_signed_batch(BatchSigner(ed25519::Key::generate()).wrap("x"), pub, out),
               Catch::StartsWith("BAD SIGNATURE"));
    CHECK_THROWS(ed25519::Key::load_public((dir / "k.key").string()));
    CHECK_THROWS(ed25519::Key::load_private((dir / "nope").string()));
    fs::remove_all(dir);
}

TEST_CASE("commands and signing config sections", "[commands][config]") {
    const std::string base = R"(gateway: {id: gw1}
uplink: {broker: "tcp://localhost:1883"}
store: {path: /tmp/x.db}
ports: []
)";
    Config c = parse_config(ConfigNode::load_string(base, "t.yaml"));
    CHECK_FALSE(c.commands.enabled);
    CHECK(c.command_topic() == "loopgate/gw1/cmd");
    CHECK(c.command_reply_topic() == "loopgate/gw1/cmd/reply");
    c = parse_config(ConfigNode::load_string(base + "commands: {enabled: true, rate_limit: 10/min, max_lifetime: 2min, id_cache: 500}\n", "t.yaml"));
    CHECK(c.commands.enabled);
    CHECK(c.commands.rate_per_second == Approx(10.0 / 60));
    CHECK(c.commands.max_lifetime_ms == 120'000);
    CHECK(c.commands.id_cache == 500);
    CHECK_THAT(config_error(base + "commands: {enabled: true, rate: 5/s}\n"), Catch::Contains("unknown key 'rate'"));
    CHECK_THAT(config_error(base + "commands: {require_signature: true}\n"),
               Catch::Contains("needs at least one key in operator_keys"));
    CHECK_THAT(config_error(base + "commands: {operator_keys: [/nonexistent.pub]}\n"),
               Catch::Contains("commands.operator_keys[0]"));
    CHECK_THAT(config_error(base + "signing: {key_file: /nonexistent.key}\n"), Catch::Contains("signing.key_file"));
}

TEST_CASE("every name that reaches a topic is validated", "[config][names]") {
    auto port = [](const std::string& driver_part) {
        return "gateway: {id: gw1}\nuplink: {broker: \"tcp://localhost:1883\"}\nstore: {path: /tmp/x.db}\n"
               "ports:\n  - name: p1\n    path: /dev/null\n" + driver_part;
    };
    struct Row {
        std::string what, yaml, field;
    };
    for (const Row& r : std::vector<Row>{
             {"gateway id", "gateway: {id: \"g/1\"}\nuplink: {broker: \"tcp://h:1\"}\nstore: {path: /x}\nports: []\n", "gateway.id"},
             {"topic prefix", "gateway: {id: g}\nuplink: {broker: \"tcp://h:1\", topic_prefix: \"a+\"}\nstore: {path: /x}\nports: []\n", "uplink.topic_prefix"},
             {"port name", port("").replace(port("").find("name: p1"), 8, "name: \"p#\"") + "    driver: line\n    settings: {fields: [{field: T}]}\n    devices: [{name: ws1}]\n", "ports[0].name"},
             {"line device", port("    driver: line\n    settings: {fields: [{field: T}]}\n    devices: [{name: \"w/s\"}]\n"), "devices[0].name"},
             {"line metric", port("    driver: line\n    settings: {fields: [{field: T, metric: \"t#\"}]}\n    devices: [{name: ws1}]\n"), "metric"},
             {"line field used as metric", port("    driver: line\n    settings: {fields: [{field: \"T+\"}]}\n    devices: [{name: ws1}]\n"), "fields[0]"},
             {"nmea device", port("    driver: nmea0183\n    devices: [{name: \"gps/1\"}]\n"), "devices[0].name"},
             {"modbus device", port("    driver: modbus-rtu\n    devices: [{name: \"m+\", unit: 1, points: [{name: x, ref: 40001}]}]\n"), "devices[0].name"},
             {"modbus point", port("    driver: modbus-rtu\n    devices: [{name: m, unit: 1, points: [{name: \"x/y\", ref: 40001}]}]\n"), "points[0].name"},
             {"control character", port("    driver: line\n    settings: {fields: [{field: T}]}\n    devices: [{name: \"a\\tb\"}]\n"), "devices[0].name"},
             {"too long", port("    driver: line\n    settings: {fields: [{field: T}]}\n    devices: [{name: " + std::string(65, 'x') + "}]\n"), "longer than 64"},
         }) {
        INFO(r.what << "\n" << r.yaml);
        CHECK_THAT(config_error(r.yaml), Catch::Contains(r.field));
    }
}
