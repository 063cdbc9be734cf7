#pragma once
// The pure part of the Sparkplug B 3.0 Edge Node: topics, alias tables, seq/bdSeq counters, and the
// NBIRTH / NDEATH / DBIRTH / DDATA / DDEATH payloads made from readings; parsing of NCMD, DCMD and
// STATE. No I/O and no clock: callers pass the time. SparkplugPublisher puts it on the wire.
//
// Model: Loopgate is the Edge Node, every device named in readings is a Sparkplug Device, every
// reading metric a device metric. A device's metric set is what it has produced so far (drivers have
// no common way to list their metrics up front): when a batch brings a metric the device's last
// DBIRTH did not define, the device is born again (a new DBIRTH with the grown set) before the DDATA.
// The set is bounded (set_limit): a metric beyond the limit gets no alias and forces no birth; its
// readings are left out of DDATA and counted (metrics_over_limit), since a host may only be sent
// metrics a birth defined.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/reading.hpp"

namespace loopgate::sparkplug {

inline constexpr const char* kNamespace = "spBv1.0";
inline constexpr const char* kRebirthMetric = "Node Control/Rebirth";
inline constexpr const char* kBdSeqMetric = "bdSeq";
// The metric a driver reports a device's reachability with (modbus-rtu); it becomes DBIRTH/DDEATH.
inline constexpr const char* kOnlineMetric = "online";

// Sparkplug DataType codes (the DataType enum of sparkplug_b.proto) this node uses.
enum class DataType : std::uint32_t { Int64 = 4, Double = 10, Boolean = 11, String = 12 };

DataType datatype_of(const Value& v);

struct Message {
    std::string topic;
    std::string payload;   // serialized org.eclipse.tahu.protobuf.Payload
    std::string kind;      // NBIRTH, DDATA, ... (for logs and tests)
    std::string device;    // empty for node messages
};

// spBv1.0/<group>/<type>/<edge node>[/<device>]
std::string topic(const std::string& group, const std::string& type, const std::string& edge_node,
                  const std::string& device = {});
std::string state_topic(const std::string& host_id);

// A command for this node: NCMD (device empty) or DCMD. Metrics are resolved to names through the
// alias table; values keep the type they were sent with.
struct Command {
    std::string device;
    bool rebirth = false;  // NCMD Node Control/Rebirth = true
    std::vector<std::pair<std::string, Value>> writes;
    std::vector<std::string> errors;  // metrics that could not be understood
};

// STATE payload from a primary host: Sparkplug 3.0 JSON {"online":true|false,"timestamp":...} or the
// legacy "ONLINE"/"OFFLINE" text. nullopt when it is neither.
std::optional<bool> parse_state(const std::string& payload);

class EdgeNode {
public:
    EdgeNode(std::string group_id, std::string edge_node_id, std::uint64_t last_bdseq = 255);

    const std::string& group_id() const { return group_; }
    const std::string& edge_node_id() const { return edge_; }

    // A new MQTT connect attempt: bdSeq advances (0-255, wrapping) and the session's birth state is
    // cleared. Returns the NDEATH to register as the connection's will.
    Message begin_session(std::int64_t now_ms);
    std::uint64_t bdseq() const { return bdseq_; }
    bool born() const { return born_; }
    // The NDEATH for the current bdSeq (as registered with begin_session).
    Message ndeath(std::int64_t now_ms) const;

    // NBIRTH (seq 0) followed by a DBIRTH for every known device that is online.
    std::vector<Message> birth(std::int64_t now_ms);
    // Node metrics every NBIRTH carries after bdSeq and Node Control/Rebirth (the running
    // configuration's version and SHA-256, README "Remote configuration").
    void set_node_metrics(std::vector<std::pair<std::string, Value>> metrics) { node_metrics_ = std::move(metrics); }
    // Forget that anything was born (the session ended); the next birth() starts over.
    void end_session() { born_ = false; for (auto& [_, d] : devices_) d.born = false; }

    // The messages one batch of readings turns into, in order: per device (in order of first
    // appearance) DBIRTH when needed, then one DDATA; DDEATH/DBIRTH for `online` false/true.
    // `historical` marks every metric is_historical and ignores `online` transitions (the device's
    // present state is what the live stream says). Needs born().
    std::vector<Message> process(std::span<const Reading> readings, bool historical, std::int64_t now_ms);

    // NCMD/DCMD on this node's topics; nullopt for any other topic or an undecodable payload.
    std::optional<Command> parse_command(const std::string& topic, const std::string& payload) const;

    // At most this many metrics get an alias, over all devices (the ports' name limit); a new device
    // is taken only while there is room for a metric.
    void set_limit(std::size_t max_metrics) { max_metrics_ = max_metrics; }
    // Readings left out because their metric (or device) was new when the limit was reached.
    std::uint64_t metrics_over_limit() const { return over_limit_; }
    std::size_t metric_count() const { return metric_count_; }

    std::uint8_t seq() const { return static_cast<std::uint8_t>(seq_); }
    std::optional<std::uint64_t> alias_of(const std::string& device, const std::string& metric) const;

private:
    struct MetricDef {
        std::uint64_t alias = 0;
        DataType datatype = DataType::Double;
        std::string unit;
        std::optional<Value> last;
        std::int64_t timestamp_ms = 0;
    };
    struct Device {
        std::vector<std::string> order;            // metric names in order of first appearance
        std::map<std::string, MetricDef> metrics;
        bool born = false;                          // DBIRTH sent in this session, no DDEATH since
        bool online = true;                         // last `online` report
    };

    std::uint64_t next_seq();
    Message dbirth(const std::string& name, Device& d, std::int64_t now_ms);
    Message ddeath(const std::string& name, Device& d, std::int64_t now_ms);

    std::string group_;
    std::string edge_;
    std::uint64_t bdseq_;
    std::uint64_t seq_ = 0;
    bool born_ = false;
    std::uint64_t next_alias_ = 2;  // 1 is Node Control/Rebirth
    std::size_t max_metrics_ = 100'000;
    std::size_t metric_count_ = 0;
    std::uint64_t over_limit_ = 0;
    std::map<std::string, Device> devices_;
    std::vector<std::string> device_order_;
    std::vector<std::pair<std::string, Value>> node_metrics_;
};

}  // namespace loopgate::sparkplug
