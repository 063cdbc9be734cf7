#pragma once
// The gateway's configuration: one YAML file, validated as a whole before anything starts.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config_node.hpp"
#include "core/network_endpoint.hpp"
#include "gateway/security/security_config.hpp"

namespace loopgate {

struct TlsConfig {
    bool enabled = false;      // true when a broker is ssl:// or mqtts:// (the settings apply to those)
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool insecure = false;     // skip server verification; warned at every connect
};

struct BatchConfig {
    std::size_t max_readings = 1000;
    std::size_t max_bytes = 256 * 1024;
    std::int64_t max_delay_ms = 100;
};

// uplink.sparkplug (used when uplink.format is sparkplug); see gateway/sparkplug/sparkplug_publisher.hpp.
struct SparkplugConfig {
    std::string group_id;
    std::string edge_node_id;             // defaults to the gateway id
    std::string primary_host_id;          // empty: no primary host awareness
    bool hold_without_primary_host = true;
};

struct UplinkConfig {
    std::string broker;                 // tcp://host:1883, ssl://host:8883: the first of `brokers`
    std::vector<std::string> brokers;   // uplink.brokers (or the one `broker`), in order of preference
    std::int64_t failback_after_ms = 300'000;  // back to the first broker once it answered this long; 0: stay
    std::string client_id;              // defaults to loopgate-<gateway id>
    std::string credentials_file;       // "username=..." and "password=..." lines; never in the YAML
    TlsConfig tls;
    int qos = 1;
    int mqtt_version = 4;               // 4 = MQTT 3.1.1, 5 = MQTT 5
    std::string topic_prefix = "loopgate";
    BatchConfig batch;
    int keepalive_s = 30;
    std::int64_t reconnect_min_ms = 500;
    std::int64_t reconnect_max_ms = 30'000;
    std::size_t max_inflight = 16;      // batches published and not yet acknowledged
    std::int64_t status_interval_ms = 30'000;  // how often the retained status document is refreshed
    std::string format = "native";      // native | sparkplug
    SparkplugConfig sparkplug;
};

struct StoreConfig {
    std::string path;
    std::uint64_t max_bytes = 1024ull * 1024 * 1024;
    std::int64_t max_age_ms = 0;          // 0: keep unsent batches however old
    std::string when_full = "drop_oldest";  // drop_oldest | stop_reading
    // buffered: readings the broker acknowledges within write_delay are never written (README
    // "Durability"); write-through: every reading is committed and synced before it is published.
    std::string durability = "buffered";
    std::int64_t write_delay_ms = 900;  // with a commit and a sync: a crash window under a second
    std::int64_t commit_interval_ms = 0;  // write-through: 0 commits after every read; >0 group commits
    double replay_rate = 0;               // readings per second replayed after an outage; 0: as fast as acked
};

struct Rs485Config {
    std::string mode = "off";           // off | kernel | rts
    bool rts_on_send = true;            // RTS level while sending (kernel mode)
    std::int64_t delay_before_send_ms = 0;
    std::int64_t delay_after_send_ms = 0;
};

// A port whose path is tcp:// or rfc2217:// (gateway/serial/tcp_stream.hpp).
struct NetworkConfig {
    std::int64_t connect_timeout_ms = 5'000;
    // A connection over which the driver's writes have brought no byte back for this long is taken
    // for half-open and reconnected; 0 never.
    std::int64_t reconnect_after_silence_ms = 60'000;
};

struct PortConfig {
    std::string name;
    std::string path;
    unsigned baud = 9600;
    unsigned data_bits = 8;
    std::string parity = "none";        // none | even | odd
    double stop_bits = 1;               // 1 | 1.5 | 2
    std::string flow_control = "none";  // none | software | hardware
    Rs485Config rs485;
    std::optional<NetworkEndpoint> endpoint;  // set when `path` is a tcp:// or rfc2217:// URL
    NetworkConfig network;
    std::int64_t reopen_min_ms = 500;
    std::int64_t reopen_max_ms = 30'000;
    std::size_t max_metrics = 1000;     // distinct device/metric names the port publishes (drivers/reading_guard.hpp)
    std::string fingerprint;            // the port's YAML as written: a reload keeps ports whose text is unchanged
    ConfigNode driver;                  // the `driver:` scalar, kept for located errors
    ConfigNode settings;
    ConfigNode devices;
    ConfigNode report;                  // report by exception for the whole port (gateway/report/)
};

// gateway.http: the status page (gateway/ops/http_server.hpp) on the gateway.metrics address.
struct HttpUser {
    std::string name;
    std::string password_hash;  // gateway/security/password_hash.hpp; `loopgate passwd` makes one
};

struct HttpConfig {
    std::vector<HttpUser> users;  // these or users_file required when gateway.metrics is not a loopback address
    std::string users_file;       // "name:hash" lines, or credential:<name>; read at start
    std::string cert_file;        // both set: HTTPS
    std::string key_file;
    // How many client addresses the login throttle (gateway/ops/login_throttle.hpp) tracks at once:
    // its memory, and how many addresses a flood needs before every other address is refused.
    std::size_t login_addresses = 1024;
};

struct Config {
    std::string file;
    std::string fingerprint;            // everything but the ports, for telling what a reload changed
    std::string gateway_id;
    std::string metrics_listen = "127.0.0.1:9464";  // Prometheus endpoint; "off" disables it
    std::string clock_sync = "none";    // none | kernel | a file whose existence means synchronized
    HttpConfig http;
    // gateway.labels: where the gateway is (site, area, line, cell...), published in its catalog
    // (gateway/catalog/) for `loopgate find --label`.
    std::map<std::string, std::string> labels;
    UplinkConfig uplink;
    StoreConfig store;
    std::vector<PortConfig> ports;
    CommandsConfig commands;            // security: gateway/security/security_config.hpp
    SigningConfig signing;
    RemoteConfigConfig remote_config;

    std::string data_topic() const { return uplink.topic_prefix + "/" + gateway_id + "/data"; }
    std::string status_topic() const { return uplink.topic_prefix + "/" + gateway_id + "/status"; }
    std::string command_topic() const { return uplink.topic_prefix + "/" + gateway_id + "/cmd"; }
    std::string command_reply_topic() const { return command_topic() + "/reply"; }
    std::string config_set_topic() const { return uplink.topic_prefix + "/" + gateway_id + "/config/set"; }
    std::string config_reply_topic() const { return uplink.topic_prefix + "/" + gateway_id + "/config/reply"; }
    std::string catalog_topic() const { return uplink.topic_prefix + "/" + gateway_id + "/catalog"; }
};

// A `labels:` map (gateway.labels, devices[].labels): short UTF-8 keys and values a search matches
// exactly. Throws a located ConfigError for anything else. Absent: none.
std::map<std::string, std::string> parse_labels(const ConfigNode& n);
// A device's `descriptions:` map, metric name -> what it measures (shown in the catalog).
std::map<std::string, std::string> parse_descriptions(const ConfigNode& n);

// Reads and validates the whole file, drivers' settings included (each driver is built once and
// thrown away). Throws ConfigError naming file, line, column and field.
Config load_config(const std::string& file);
Config parse_config(const ConfigNode& root);

// The driver's view of a port.
struct DriverSpec;
DriverSpec driver_spec(const PortConfig& port);

}  // namespace loopgate
