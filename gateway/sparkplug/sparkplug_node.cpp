#include "gateway/sparkplug/sparkplug_node.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/untrusted_text.hpp"
#include "sparkplug_b.pb.h"

namespace loopgate::sparkplug {

namespace pb = org::eclipse::tahu::protobuf;

namespace {

constexpr std::uint64_t kRebirthAlias = 1;
constexpr std::uint32_t kInt32 = 3;
constexpr std::uint32_t kUInt64 = 8;

std::uint64_t to_ms(std::int64_t ns) { return ns > 0 ? static_cast<std::uint64_t>(ns / 1'000'000) : 0; }

std::uint64_t reading_time_ms(const Reading& r, std::int64_t now_ms) {
    if (r.source_time_ns && *r.source_time_ns > 0) return to_ms(*r.source_time_ns);
    if (r.receive_time_ns > 0) return to_ms(r.receive_time_ns);
    return static_cast<std::uint64_t>(now_ms);
}

void set_value(pb::Payload_Metric& m, const Value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, double>) m.set_double_value(x);
            else if constexpr (std::is_same_v<T, std::int64_t>) m.set_long_value(static_cast<std::uint64_t>(x));
            else if constexpr (std::is_same_v<T, bool>) m.set_boolean_value(x);
            else m.set_string_value(x);
        },
        v);
}

void add_property(pb::Payload_PropertySet& set, const std::string& key, const std::string& value) {
    set.add_keys(key);
    auto* pv = set.add_values();
    pv->set_type(static_cast<std::uint32_t>(DataType::String));
    pv->set_string_value(value);
}

void add_property(pb::Payload_PropertySet& set, const std::string& key, std::int32_t value) {
    set.add_keys(key);
    auto* pv = set.add_values();
    pv->set_type(kInt32);
    pv->set_int_value(static_cast<std::uint32_t>(value));
}

// OPC DA quality codes, the convention Sparkplug hosts read from a metric's "Quality" property.
std::int32_t quality_code(Quality q) { return q == Quality::good ? 192 : q == Quality::uncertain ? 64 : 0; }

std::optional<Value> metric_value(const pb::Payload_Metric& m, std::string& error) {
    switch (m.value_case()) {
        case pb::Payload_Metric::kIntValue:
            // Int8/16/32 travel as two's complement in a uint32.
            if (m.datatype() >= 1 && m.datatype() <= 3)
                return Value(static_cast<std::int64_t>(static_cast<std::int32_t>(m.int_value())));
            return Value(static_cast<std::int64_t>(m.int_value()));
        case pb::Payload_Metric::kLongValue:
            if (m.datatype() == kUInt64 && m.long_value() > static_cast<std::uint64_t>(INT64_MAX)) {
                error = "value out of range";
                return std::nullopt;
            }
            return Value(static_cast<std::int64_t>(m.long_value()));
        case pb::Payload_Metric::kFloatValue: return Value(static_cast<double>(m.float_value()));
        case pb::Payload_Metric::kDoubleValue: return Value(m.double_value());
        case pb::Payload_Metric::kBooleanValue: return Value(m.boolean_value());
        case pb::Payload_Metric::kStringValue: return Value(m.string_value());
        default: error = "no value of a supported type"; return std::nullopt;
    }
}

}  // namespace

DataType datatype_of(const Value& v) {
    switch (v.index()) {
        case 0: return DataType::Double;
        case 1: return DataType::Int64;
        case 2: return DataType::Boolean;
        default: return DataType::String;
    }
}

std::string topic(const std::string& group, const std::string& type, const std::string& edge_node,
                  const std::string& device) {
    std::string t = std::string(kNamespace) + "/" + group + "/" + type + "/" + edge_node;
    if (!device.empty()) t += "/" + device;
    return t;
}

std::string state_topic(const std::string& host_id) { return std::string(kNamespace) + "/STATE/" + host_id; }

std::optional<bool> parse_state(const std::string& payload) {
    auto b = payload.find_first_not_of(" \t\r\n");
    auto e = payload.find_last_not_of(" \t\r\n");
    if (b == std::string::npos) return std::nullopt;
    std::string text = payload.substr(b, e - b + 1);
    if (text == "ONLINE") return true;
    if (text == "OFFLINE") return false;
    if (text.front() != '{') return std::nullopt;
    auto key = text.find("\"online\"");
    if (key == std::string::npos) return std::nullopt;
    std::size_t i = key + 8;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    ++i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (text.compare(i, 4, "true") == 0) return true;
    if (text.compare(i, 5, "false") == 0) return false;
    return std::nullopt;
}

EdgeNode::EdgeNode(std::string group_id, std::string edge_node_id, std::uint64_t last_bdseq)
    : group_(std::move(group_id)), edge_(std::move(edge_node_id)), bdseq_(last_bdseq % 256) {}

Message EdgeNode::begin_session(std::int64_t now_ms) {
    bdseq_ = (bdseq_ + 1) % 256;
    end_session();
    return ndeath(now_ms);
}

Message EdgeNode::ndeath(std::int64_t now_ms) const {
    pb::Payload p;
    p.set_timestamp(static_cast<std::uint64_t>(now_ms));
    auto* m = p.add_metrics();
    m->set_name(kBdSeqMetric);
    m->set_timestamp(static_cast<std::uint64_t>(now_ms));
    m->set_datatype(static_cast<std::uint32_t>(DataType::Int64));
    m->set_long_value(bdseq_);
    return {topic(group_, "NDEATH", edge_), p.SerializeAsString(), "NDEATH", {}};
}

std::uint64_t EdgeNode::next_seq() {
    seq_ = (seq_ + 1) % 256;
    return seq_;
}

std::vector<Message> EdgeNode::birth(std::int64_t now_ms) {
    std::vector<Message> out;
    end_session();
    seq_ = 0;
    pb::Payload p;
    auto ts = static_cast<std::uint64_t>(now_ms);
    p.set_timestamp(ts);
    p.set_seq(0);
    auto* bd = p.add_metrics();
    bd->set_name(kBdSeqMetric);
    bd->set_timestamp(ts);
    bd->set_datatype(static_cast<std::uint32_t>(DataType::Int64));
    bd->set_long_value(bdseq_);
    auto* rb = p.add_metrics();
    rb->set_name(kRebirthMetric);
    rb->set_alias(kRebirthAlias);
    rb->set_timestamp(ts);
    rb->set_datatype(static_cast<std::uint32_t>(DataType::Boolean));
    rb->set_boolean_value(false);
    for (const auto& [name, value] : node_metrics_) {
        auto* m = p.add_metrics();
        m->set_name(name);
        m->set_timestamp(ts);
        m->set_datatype(static_cast<std::uint32_t>(datatype_of(value)));
        set_value(*m, value);
    }
    out.push_back({topic(group_, "NBIRTH", edge_), p.SerializeAsString(), "NBIRTH", {}});
    born_ = true;
    for (const std::string& name : device_order_) {
        Device& d = devices_.at(name);
        if (d.online && !d.metrics.empty()) out.push_back(dbirth(name, d, now_ms));
    }
    return out;
}

Message EdgeNode::dbirth(const std::string& name, Device& d, std::int64_t now_ms) {
    pb::Payload p;
    p.set_timestamp(static_cast<std::uint64_t>(now_ms));
    p.set_seq(next_seq());
    for (const std::string& metric : d.order) {
        const MetricDef& def = d.metrics.at(metric);
        auto* m = p.add_metrics();
        m->set_name(metric);
        m->set_alias(def.alias);
        m->set_timestamp(def.timestamp_ms > 0 ? static_cast<std::uint64_t>(def.timestamp_ms)
                                              : static_cast<std::uint64_t>(now_ms));
        m->set_datatype(static_cast<std::uint32_t>(def.datatype));
        if (def.last) set_value(*m, *def.last);
        else m->set_is_null(true);
        if (!def.unit.empty()) add_property(*m->mutable_properties(), "engUnit", def.unit);
    }
    d.born = true;
    d.online = true;
    return {topic(group_, "DBIRTH", edge_, name), p.SerializeAsString(), "DBIRTH", name};
}

Message EdgeNode::ddeath(const std::string& name, Device& d, std::int64_t now_ms) {
    pb::Payload p;
    p.set_timestamp(static_cast<std::uint64_t>(now_ms));
    p.set_seq(next_seq());
    d.born = false;
    return {topic(group_, "DDEATH", edge_, name), p.SerializeAsString(), "DDEATH", name};
}

std::vector<Message> EdgeNode::process(std::span<const Reading> readings, bool historical, std::int64_t now_ms) {
    std::vector<Message> out;
    // Per device, in order of first appearance; a device's readings keep their order.
    std::vector<std::pair<std::string, std::vector<const Reading*>>> groups;
    for (const Reading& r : readings) {
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == r.device; });
        if (it == groups.end()) {
            groups.emplace_back(r.device, std::vector<const Reading*>{});
            it = std::prev(groups.end());
        }
        it->second.push_back(&r);
    }

    for (auto& group : groups) {
        // Named references, not a structured binding: clang 14 cannot capture bindings in lambdas.
        const std::string& name = group.first;
        std::vector<const Reading*>& rs = group.second;
        if (!devices_.count(name) && metric_count_ >= max_metrics_) {
            over_limit_ += rs.size();
            continue;
        }
        auto [dit, added] = devices_.try_emplace(name);
        if (added) device_order_.push_back(name);
        Device& d = dit->second;
        std::vector<const Reading*> pending;

        auto flush = [&] {
            // A metric new beyond the limit is left out: no alias, no birth for it.
            const std::size_t room = max_metrics_ > metric_count_ ? max_metrics_ - metric_count_ : 0;
            std::set<std::string> taking;
            std::erase_if(pending, [&](const Reading* r) {
                if (d.metrics.count(r->metric) || taking.count(r->metric)) return false;
                if (taking.size() < room) {
                    taking.insert(r->metric);
                    return false;
                }
                ++over_limit_;
                return true;
            });
            if (pending.empty()) return;
            bool redefine = false;
            for (const Reading* r : pending) {
                auto [mit, fresh] = d.metrics.try_emplace(r->metric);
                if (fresh) ++metric_count_;
                MetricDef& def = mit->second;
                DataType type = datatype_of(r->value);
                if (fresh) {
                    d.order.push_back(r->metric);
                    def.alias = next_alias_++;
                    def.datatype = type;
                    def.unit = r->unit;
                    def.last = r->value;
                    def.timestamp_ms = static_cast<std::int64_t>(reading_time_ms(*r, now_ms));
                    redefine = true;
                } else if (def.datatype != type || def.unit != r->unit) {
                    def.datatype = type;
                    def.unit = r->unit;
                    def.last = r->value;
                    def.timestamp_ms = static_cast<std::int64_t>(reading_time_ms(*r, now_ms));
                    redefine = true;
                }
            }
            if (!d.born || redefine) out.push_back(dbirth(name, d, now_ms));

            pb::Payload p;
            p.set_timestamp(static_cast<std::uint64_t>(now_ms));
            p.set_seq(next_seq());
            for (const Reading* r : pending) {
                MetricDef& def = d.metrics.at(r->metric);
                auto* m = p.add_metrics();
                m->set_alias(def.alias);
                std::uint64_t ts = reading_time_ms(*r, now_ms);
                m->set_timestamp(ts);
                if (historical) m->set_is_historical(true);
                set_value(*m, r->value);
                if (r->quality != Quality::good)
                    add_property(*m->mutable_properties(), "Quality", quality_code(r->quality));
                if (!historical && static_cast<std::int64_t>(ts) >= def.timestamp_ms) {
                    def.last = r->value;
                    def.timestamp_ms = static_cast<std::int64_t>(ts);
                }
            }
            out.push_back({topic(group_, "DDATA", edge_, name), p.SerializeAsString(), "DDATA", name});
            pending.clear();
        };

        for (const Reading* r : rs) {
            if (r->metric == kOnlineMetric && std::holds_alternative<bool>(r->value)) {
                if (historical) continue;
                flush();
                bool online = std::get<bool>(r->value);
                if (!online) {
                    if (d.born) out.push_back(ddeath(name, d, now_ms));
                    d.online = false;
                } else {
                    d.online = true;
                    if (!d.born && !d.metrics.empty()) out.push_back(dbirth(name, d, now_ms));
                }
                continue;
            }
            pending.push_back(r);
        }
        flush();
    }
    return out;
}

std::optional<std::uint64_t> EdgeNode::alias_of(const std::string& device, const std::string& metric) const {
    auto d = devices_.find(device);
    if (d == devices_.end()) return std::nullopt;
    auto m = d->second.metrics.find(metric);
    if (m == d->second.metrics.end()) return std::nullopt;
    return m->second.alias;
}

std::optional<Command> EdgeNode::parse_command(const std::string& t, const std::string& payload) const {
    const std::string ncmd = topic(group_, "NCMD", edge_);
    const std::string dcmd = topic(group_, "DCMD", edge_) + "/";
    Command c;
    if (t == ncmd) {
    } else if (t.rfind(dcmd, 0) == 0 && t.size() > dcmd.size() && t.find('/', dcmd.size()) == std::string::npos) {
        c.device = t.substr(dcmd.size());
    } else {
        return std::nullopt;
    }
    pb::Payload p;
    if (!p.ParseFromString(payload)) return std::nullopt;
    const Device* device = nullptr;
    if (!c.device.empty()) {
        auto it = devices_.find(c.device);
        if (it != devices_.end()) device = &it->second;
    }
    for (const auto& m : p.metrics()) {
        std::string name = m.has_name() ? m.name() : std::string();
        if (name.empty() && m.has_alias()) {
            if (c.device.empty()) {
                if (m.alias() == kRebirthAlias) name = kRebirthMetric;
            } else if (device) {
                for (const auto& [n, def] : device->metrics)
                    if (def.alias == m.alias()) name = n;
            }
        }
        if (name.empty()) {
            c.errors.push_back("unknown alias " + std::to_string(m.alias()));
            continue;
        }
        std::string error;
        auto value = metric_value(m, error);
        if (!value) {
            c.errors.push_back(untrusted_text(name) + ": " + error);
            continue;
        }
        if (c.device.empty()) {
            if (name == kRebirthMetric && std::holds_alternative<bool>(*value)) {
                if (std::get<bool>(*value)) c.rebirth = true;
            } else {
                c.errors.push_back(untrusted_text(name) + ": not a node control metric of this edge node");
            }
            continue;
        }
        c.writes.emplace_back(name, std::move(*value));
    }
    return c;
}

}  // namespace loopgate::sparkplug
