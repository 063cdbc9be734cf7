// Sparkplug B edge node, the pure part: topics, bdSeq/seq, aliases, births, data, deaths, commands,
// STATE. Payloads are decoded with the generated protobuf classes of proto/sparkplug_b.proto.

#include <catch2/catch.hpp>

#include "gateway/config.hpp"
#include "gateway/sparkplug/sparkplug_node.hpp"
#include "sparkplug_b.pb.h"

using namespace loopgate;
using namespace loopgate::sparkplug;
namespace pb = org::eclipse::tahu::protobuf;

namespace {

pb::Payload decode(const Message& m) {
    pb::Payload p;
    REQUIRE(p.ParseFromString(m.payload));
    return p;
}

Reading reading(const std::string& device, const std::string& metric, Value v, const std::string& unit = "",
                std::int64_t time_ns = 1'700'000'000'123'000'000) {
    Reading r;
    r.device = device;
    r.metric = metric;
    r.value = std::move(v);
    r.unit = unit;
    r.receive_time_ns = time_ns;
    return r;
}

const pb::Payload_Metric* find(const pb::Payload& p, const std::string& name) {
    for (const auto& m : p.metrics())
        if (m.name() == name) return &m;
    return nullptr;
}

std::string prop(const pb::Payload_Metric& m, const std::string& key) {
    for (int i = 0; i < m.properties().keys_size(); ++i)
        if (m.properties().keys(i) == key) return m.properties().values(i).string_value();
    return "<none>";
}

std::vector<std::string> kinds(const std::vector<Message>& ms) {
    std::vector<std::string> out;
    for (const auto& m : ms) out.push_back(m.kind + (m.device.empty() ? "" : ":" + m.device));
    return out;
}

}  // namespace

TEST_CASE("sparkplug topics follow the spBv1.0 namespace", "[sparkplug]") {
    CHECK(topic("plant", "NBIRTH", "gw1") == "spBv1.0/plant/NBIRTH/gw1");
    CHECK(topic("plant", "DDATA", "gw1", "ws1") == "spBv1.0/plant/DDATA/gw1/ws1");
    CHECK(state_topic("scada") == "spBv1.0/STATE/scada");
}

TEST_CASE("sparkplug bdSeq advances per session, wraps at 256, and the NDEATH carries it", "[sparkplug]") {
    EdgeNode n("g", "e");  // no previous session: the first is 0
    Message will = n.begin_session(1000);
    CHECK(will.topic == "spBv1.0/g/NDEATH/e");
    pb::Payload p = decode(will);
    REQUIRE(p.metrics_size() == 1);
    CHECK(p.metrics(0).name() == "bdSeq");
    CHECK(p.metrics(0).datatype() == 4);  // Int64
    CHECK(p.metrics(0).long_value() == 0);
    CHECK_FALSE(p.has_seq());
    n.begin_session(1000);
    CHECK(n.bdseq() == 1);

    EdgeNode restarted("g", "e", 254);
    restarted.begin_session(0);
    CHECK(restarted.bdseq() == 255);
    restarted.begin_session(0);
    CHECK(restarted.bdseq() == 0);
}

TEST_CASE("sparkplug NBIRTH has seq 0, bdSeq and Node Control/Rebirth", "[sparkplug]") {
    EdgeNode n("g", "e", 6);
    n.begin_session(0);
    CHECK_FALSE(n.born());
    auto births = n.birth(5000);
    REQUIRE(births.size() == 1);  // no device known yet
    CHECK(n.born());
    pb::Payload p = decode(births[0]);
    CHECK(births[0].topic == "spBv1.0/g/NBIRTH/e");
    CHECK(p.seq() == 0);
    CHECK(p.timestamp() == 5000);
    const auto* bd = find(p, "bdSeq");
    REQUIRE(bd);
    CHECK(bd->long_value() == 7);
    const auto* rb = find(p, "Node Control/Rebirth");
    REQUIRE(rb);
    CHECK(rb->datatype() == 11);  // Boolean
    CHECK(rb->has_boolean_value());
    CHECK_FALSE(rb->boolean_value());
    CHECK(rb->has_alias());
}

TEST_CASE("sparkplug NBIRTH carries the running configuration's version and sha256 as node metrics", "[sparkplug][fleet]") {
    EdgeNode n("g", "e", 0);
    n.set_node_metrics({{"Config/Version", std::int64_t{42}}, {"Config/SHA256", std::string("ab12")}});
    n.begin_session(0);
    pb::Payload p = decode(n.birth(5000).at(0));
    const auto* version = find(p, "Config/Version");
    REQUIRE(version);
    CHECK(version->datatype() == 4);  // Int64
    CHECK(version->long_value() == 42);
    const auto* sha = find(p, "Config/SHA256");
    REQUIRE(sha);
    CHECK(sha->datatype() == 12);  // String
    CHECK(sha->string_value() == "ab12");
    CHECK(sha->timestamp() == 5000);
}

TEST_CASE("sparkplug: a device gets a DBIRTH with every metric before its first DDATA, which uses aliases only",
          "[sparkplug]") {
    EdgeNode n("g", "e");
    n.begin_session(0);
    n.birth(0);
    std::vector<Reading> rs = {reading("ws1", "air_temperature", 21.5, "degC"), reading("ws1", "record", std::int64_t{-3}),
                               reading("ws1", "door", true), reading("ws1", "label", std::string("abc"))};
    rs[0].source_time_ns = 1'600'000'000'000'000'000;
    auto out = n.process(rs, false, 9000);
    REQUIRE(kinds(out) == std::vector<std::string>{"DBIRTH:ws1", "DDATA:ws1"});
    pb::Payload birth = decode(out[0]);
    CHECK(out[0].topic == "spBv1.0/g/DBIRTH/e/ws1");
    CHECK(birth.seq() == 1);
    REQUIRE(birth.metrics_size() == 4);
    const auto* t = find(birth, "air_temperature");
    REQUIRE(t);
    CHECK(t->datatype() == 10);
    CHECK(t->double_value() == 21.5);
    CHECK(prop(*t, "engUnit") == "degC");
    CHECK(t->timestamp() == 1'600'000'000'000);  // source time wins
    CHECK(find(birth, "record")->datatype() == 4);
    CHECK(static_cast<std::int64_t>(find(birth, "record")->long_value()) == -3);
    CHECK(find(birth, "door")->datatype() == 11);
    CHECK(find(birth, "label")->datatype() == 12);
    CHECK(prop(*find(birth, "door"), "engUnit") == "<none>");

    pb::Payload data = decode(out[1]);
    CHECK(out[1].topic == "spBv1.0/g/DDATA/e/ws1");
    CHECK(data.seq() == 2);
    REQUIRE(data.metrics_size() == 4);
    for (const auto& m : data.metrics()) {
        CHECK_FALSE(m.has_name());
        CHECK(m.has_alias());
        CHECK_FALSE(m.is_historical());
    }
    CHECK(data.metrics(0).alias() == t->alias());
    CHECK(data.metrics(0).double_value() == 21.5);
    CHECK(data.metrics(1).timestamp() == 1'700'000'000'123);  // receive time when the device has none

    // Known metrics: DDATA only. Aliases are unique across devices.
    auto again = n.process(std::vector<Reading>{reading("ws1", "record", std::int64_t{4})}, false, 9100);
    REQUIRE(kinds(again) == std::vector<std::string>{"DDATA:ws1"});
    auto other = n.process(std::vector<Reading>{reading("ws2", "record", std::int64_t{4})}, false, 9100);
    REQUIRE(kinds(other) == std::vector<std::string>{"DBIRTH:ws2", "DDATA:ws2"});
    CHECK(*n.alias_of("ws2", "record") != *n.alias_of("ws1", "record"));
}

TEST_CASE("sparkplug: a new metric re-births the device with the grown set", "[sparkplug]") {
    EdgeNode n("g", "e");
    n.begin_session(0);
    n.birth(0);
    n.process(std::vector<Reading>{reading("ws1", "a", 1.0)}, false, 1);
    auto out = n.process(std::vector<Reading>{reading("ws1", "a", 2.0), reading("ws1", "b", 3.0)}, false, 2);
    REQUIRE(kinds(out) == std::vector<std::string>{"DBIRTH:ws1", "DDATA:ws1"});
    pb::Payload birth = decode(out[0]);
    REQUIRE(birth.metrics_size() == 2);
    CHECK(find(birth, "a")->double_value() == 1.0);  // the last value published so far
    CHECK(find(birth, "b")->double_value() == 3.0);
}

TEST_CASE("sparkplug seq runs 0-255 across all node messages and wraps", "[sparkplug]") {
    EdgeNode n("g", "e");
    n.begin_session(0);
    n.birth(0);
    std::uint64_t expected = 1;
    for (int i = 0; i < 300; ++i) {
        for (const auto& m : n.process(std::vector<Reading>{reading("d", "x", std::int64_t{i})}, false, i)) {
            CHECK(decode(m).seq() == expected);
            expected = (expected + 1) % 256;
        }
    }
    // A rebirth starts over at 0.
    auto births = n.birth(0);
    REQUIRE(births.size() == 2);
    CHECK(decode(births[0]).seq() == 0);
    CHECK(decode(births[1]).seq() == 1);
}

TEST_CASE("sparkplug: online false/true become DDEATH and DBIRTH", "[sparkplug]") {
    EdgeNode n("g", "e");
    n.begin_session(0);
    n.birth(0);
    auto out = n.process(std::vector<Reading>{reading("m1", "online", true), reading("m1", "p", 1.0),
                                              reading("m1", "online", false)},
                         false, 1);
    REQUIRE(kinds(out) == std::vector<std::string>{"DBIRTH:m1", "DDATA:m1", "DDEATH:m1"});
    CHECK(decode(out[2]).metrics_size() == 0);
    // A dead device is not born again by a node rebirth...
    CHECK(n.birth(2).size() == 1);
    // ...but when it returns.
    auto back = n.process(std::vector<Reading>{reading("m1", "online", true)}, false, 3);
    REQUIRE(kinds(back) == std::vector<std::string>{"DBIRTH:m1"});
    pb::Payload b = decode(back[0]);
    REQUIRE(b.metrics_size() == 1);  // `online` is not a metric: it is the birth/death itself
    CHECK(b.metrics(0).name() == "p");
    // Historical batches do not replay old transitions.
    auto hist = n.process(std::vector<Reading>{reading("m1", "online", false), reading("m1", "p", 0.5)}, true, 4);
    REQUIRE(kinds(hist) == std::vector<std::string>{"DDATA:m1"});
    CHECK(decode(hist[0]).metrics(0).is_historical());
}

TEST_CASE("sparkplug: historical metrics are flagged, bad quality carries a Quality property", "[sparkplug]") {
    EdgeNode n("g", "e");
    n.begin_session(0);
    n.birth(0);
    Reading bad = reading("d", "x", 1.0);
    bad.quality = Quality::bad;
    auto out = n.process(std::vector<Reading>{bad}, true, 1);
    REQUIRE(kinds(out) == std::vector<std::string>{"DBIRTH:d", "DDATA:d"});
    pb::Payload data = decode(out[1]);
    CHECK(data.metrics(0).is_historical());
    REQUIRE(data.metrics(0).properties().keys_size() == 1);
    CHECK(data.metrics(0).properties().keys(0) == "Quality");
    CHECK(data.metrics(0).properties().values(0).int_value() == 0);
}

TEST_CASE("sparkplug NCMD rebirth and DCMD writes parse, by name or alias", "[sparkplug]") {
    EdgeNode n("g", "e");
    n.begin_session(0);
    n.birth(0);
    n.process(std::vector<Reading>{reading("m1", "setpoint", 1.0), reading("m1", "count", std::int64_t{1})}, false, 1);

    pb::Payload ncmd;
    auto* m = ncmd.add_metrics();
    m->set_name("Node Control/Rebirth");
    m->set_datatype(11);
    m->set_boolean_value(true);
    auto c = n.parse_command("spBv1.0/g/NCMD/e", ncmd.SerializeAsString());
    REQUIRE(c);
    CHECK(c->rebirth);
    CHECK(c->device.empty());
    m->set_boolean_value(false);
    CHECK_FALSE(n.parse_command("spBv1.0/g/NCMD/e", ncmd.SerializeAsString())->rebirth);

    pb::Payload dcmd;
    auto* a = dcmd.add_metrics();
    a->set_name("setpoint");
    a->set_datatype(10);
    a->set_double_value(42.5);
    auto* b = dcmd.add_metrics();
    b->set_alias(*n.alias_of("m1", "count"));
    b->set_datatype(3);  // Int32, two's complement in a uint32
    b->set_int_value(static_cast<std::uint32_t>(-2));
    auto* u = dcmd.add_metrics();
    u->set_alias(9999);
    u->set_boolean_value(true);
    auto d = n.parse_command("spBv1.0/g/DCMD/e/m1", dcmd.SerializeAsString());
    REQUIRE(d);
    CHECK(d->device == "m1");
    REQUIRE(d->writes.size() == 2);
    CHECK(d->writes[0].first == "setpoint");
    CHECK(std::get<double>(d->writes[0].second) == 42.5);
    CHECK(d->writes[1].first == "count");
    CHECK(std::get<std::int64_t>(d->writes[1].second) == -2);
    CHECK(d->errors.size() == 1);

    CHECK_FALSE(n.parse_command("spBv1.0/g/DCMD/other/m1", dcmd.SerializeAsString()));
    CHECK_FALSE(n.parse_command("spBv1.0/g/NCMD/e", "\xff\xff\xff"));
}

TEST_CASE("sparkplug STATE payloads: 3.0 JSON and legacy text", "[sparkplug]") {
    CHECK(parse_state(R"({"online":true,"timestamp":1700000000000})") == true);
    CHECK(parse_state(R"({ "timestamp": 1, "online" : false })") == false);
    CHECK(parse_state("ONLINE") == true);
    CHECK(parse_state("OFFLINE\n") == false);
    CHECK_FALSE(parse_state("maybe"));
    CHECK_FALSE(parse_state(R"({"online":"yes"})"));
    CHECK_FALSE(parse_state(""));
}

TEST_CASE("sparkplug config: format, defaults and located errors", "[sparkplug][config]") {
    const std::string base = R"(gateway:
  id: gw1
uplink:
  broker: tcp://localhost:1883
FORMAT
store:
  path: /tmp/x.db
ports:
  - name: met
    path: /dev/ttyUSB0
    driver: line
    settings:
      fields: [{field: T}]
    devices: [{name: ws1}]
)";
    auto with = [&](const std::string& text) {
        std::string s = base;
        s.replace(s.find("FORMAT"), 6, text);
        return s;
    };
    Config native = parse_config(ConfigNode::load_string(with(""), "gw.yaml"));
    CHECK(native.uplink.format == "native");

    Config c = parse_config(ConfigNode::load_string(
        with("  format: sparkplug\n  sparkplug:\n    group_id: plant\n    primary_host_id: scada"), "gw.yaml"));
    CHECK(c.uplink.format == "sparkplug");
    CHECK(c.uplink.sparkplug.group_id == "plant");
    CHECK(c.uplink.sparkplug.edge_node_id == "gw1");
    CHECK(c.uplink.sparkplug.primary_host_id == "scada");
    CHECK(c.uplink.sparkplug.hold_without_primary_host);

    auto error_of = [&](const std::string& text) -> std::string {
        try {
            parse_config(ConfigNode::load_string(with(text), "gw.yaml"));
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "no error";
    };
    CHECK_THAT(error_of("  format: sparkplug"), Catch::Contains("uplink.sparkplug"));
    CHECK_THAT(error_of("  format: sparkplug\n  sparkplug:\n    edge_node_id: x"), Catch::Contains("group_id"));
    CHECK_THAT(error_of("  format: sparkplug\n  sparkplug:\n    group_id: a/b"), Catch::Contains("gw.yaml:7"));
    CHECK_THAT(error_of("  sparkplug:\n    group_id: a"), Catch::Contains("format: sparkplug"));
    CHECK_THAT(error_of("  format: sparkplug\n  sparkplug:\n    group_id: a\n    gruop: b"),
               Catch::Contains("unknown key 'gruop'"));
    CHECK_THAT(error_of("  format: spb"), Catch::Contains("native"));
}

TEST_CASE("sparkplug: a metric beyond the limit gets no alias and forces no rebirth, and its readings are counted",
          "[sparkplug]") {
    EdgeNode n("g", "e");
    n.set_limit(3);
    n.begin_session(0);
    n.birth(0);
    auto out = n.process(std::vector<Reading>{reading("boat", "xdr.A", 1.0), reading("boat", "xdr.B", 2.0)}, false, 1000);
    REQUIRE(kinds(out) == std::vector<std::string>{"DBIRTH:boat", "DDATA:boat"});

    // C fills the limit: one rebirth for it; D and E, new beyond the limit, are left out.
    out = n.process(std::vector<Reading>{reading("boat", "xdr.C", 3.0), reading("boat", "xdr.D", 4.0),
                                         reading("boat", "xdr.A", 1.5), reading("boat", "xdr.E", 5.0)},
                    false, 2000);
    REQUIRE(kinds(out) == std::vector<std::string>{"DBIRTH:boat", "DDATA:boat"});
    CHECK(decode(out[0]).metrics_size() == 3);
    pb::Payload data = decode(out[1]);
    REQUIRE(data.metrics_size() == 2);  // C and A
    CHECK(data.metrics(0).alias() == *n.alias_of("boat", "xdr.C"));
    CHECK(data.metrics(1).double_value() == 1.5);
    CHECK_FALSE(n.alias_of("boat", "xdr.D"));
    CHECK_FALSE(n.alias_of("boat", "xdr.E"));
    CHECK(n.metrics_over_limit() == 2);

    // A flood of new names: no birth at all, and nothing for a batch of only those.
    for (int i = 0; i < 100; ++i) {
        out = n.process(std::vector<Reading>{reading("boat", "xdr.N" + std::to_string(i), 1.0)}, false, 3000);
        CHECK(out.empty());
    }
    out = n.process(std::vector<Reading>{reading("boat", "xdr.B", 2.5), reading("boat", "xdr.N1", 1.0)}, false, 4000);
    CHECK(kinds(out) == std::vector<std::string>{"DDATA:boat"});
    // A new device while the limit is reached is not taken either.
    out = n.process(std::vector<Reading>{reading("other", "x", 1.0)}, false, 5000);
    CHECK(out.empty());
    CHECK(n.metrics_over_limit() == 2 + 100 + 1 + 1);
    CHECK(n.metric_count() == 3);
    // A node rebirth defines the three and no more.
    auto births = n.birth(6000);
    REQUIRE(kinds(births) == std::vector<std::string>{"NBIRTH", "DBIRTH:boat"});
    CHECK(decode(births[1]).metrics_size() == 3);
}
