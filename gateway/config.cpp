#include "gateway/config.hpp"

#include <set>

#include <boost/asio/ip/address.hpp>

#include "core/broker_address.hpp"
#include "core/report_policy.hpp"
#include "core/topic_name.hpp"
#include "core/untrusted_text.hpp"
#include "core/utf8.hpp"
#include "drivers/modbus_tcp/mbap_frame.hpp"
#include "drivers/registry.hpp"
#include "gateway/security/password_hash.hpp"

namespace loopgate {

namespace {

UplinkConfig parse_uplink(const ConfigNode& n, const std::string& gateway_id) {
    n.allow_only({"broker", "brokers", "failback_after", "client_id", "credentials_file", "tls", "qos", "mqtt_version",
                  "topic_prefix", "batch", "keepalive", "reconnect_min", "reconnect_max", "max_inflight",
                  "status_interval", "format", "sparkplug"});
    UplinkConfig u;
    ConfigNode list = n["brokers"];
    std::vector<ConfigNode> entries;
    if (list.present()) {
        if (n["broker"].present())
            list.fail("set either broker (one URI) or brokers (a list of URIs, the first preferred), not both");
        if (!list.is_sequence()) list.fail("expected a list of broker URIs, the first preferred");
        entries = list.items();
        if (entries.empty()) list.fail("expected at least one broker URI");
    } else {
        entries.push_back(n.need("broker"));
    }
    bool tls_scheme = false;
    std::set<std::string> seen;
    for (const ConfigNode& entry : entries) {
        std::string uri = entry.as_string(), problem;
        auto address = parse_broker_address(uri, problem);
        if (!address) entry.fail(problem);
        if (!seen.insert(address->uri()).second) entry.fail("'" + uri + "' is listed twice");
        tls_scheme = tls_scheme || address->tls;
        u.brokers.push_back(uri);
    }
    u.broker = u.brokers.front();
    u.failback_after_ms = n.millis("failback_after", u.failback_after_ms);
    if (u.failback_after_ms < 0) n.need("failback_after").fail("expected a duration, 0 to stay on the broker in use");
    u.client_id = n.str("client_id", "loopgate-" + gateway_id);
    // An MQTT client id is a UTF-8 string: Paho refuses any other when `run` makes the client, so the
    // config check must (check-config and run load configs the same way, and only run makes a client).
    if (!valid_utf8(u.client_id) || u.client_id.find('\0') != std::string::npos)
        n.need("client_id").fail("'" + untrusted_text(u.client_id, 80) + "' is not a UTF-8 string without NUL "
                                 "(MQTT client ids must be)");
    u.credentials_file = n.str("credentials_file", "");
    ConfigNode tls = n["tls"];
    tls.allow_only({"ca_file", "cert_file", "key_file", "insecure"});
    u.tls.enabled = tls_scheme;
    u.tls.ca_file = tls.str("ca_file", "");
    u.tls.cert_file = tls.str("cert_file", "");
    u.tls.key_file = tls.str("key_file", "");
    u.tls.insecure = tls.boolean("insecure", false);
    if (tls.present() && !tls_scheme) tls.fail("tls settings need an ssl:// or mqtts:// broker URI");
    if (!u.tls.cert_file.empty() != !u.tls.key_file.empty())
        tls.fail("a client certificate needs both cert_file and key_file");
    u.qos = static_cast<int>(n.integer("qos", 1, 1, 1));
    std::string version = n.choice("mqtt_version", {"3.1.1", "5"}, "3.1.1");
    u.mqtt_version = version == "5" ? 5 : 4;
    u.topic_prefix = n.str("topic_prefix", "loopgate");
    require_topic_name(n["topic_prefix"].present() ? n["topic_prefix"] : n, u.topic_prefix);
    ConfigNode batch = n["batch"];
    batch.allow_only({"max_readings", "max_bytes", "max_delay"});
    u.batch.max_readings = static_cast<std::size_t>(batch.integer("max_readings", 1, 100'000, 1000));
    u.batch.max_bytes = batch.bytes("max_bytes", 256 * 1024);
    if (u.batch.max_bytes < 1024 || u.batch.max_bytes > 64ull * 1024 * 1024)
        batch.need("max_bytes").fail("expected a size from 1KiB to 64MiB");
    u.batch.max_delay_ms = batch.millis("max_delay", 100);
    if (u.batch.max_delay_ms < 1 || u.batch.max_delay_ms > 60'000)
        batch.need("max_delay").fail("expected a delay from 1ms to 60s");
    u.keepalive_s = static_cast<int>(n.millis("keepalive", 30'000) / 1000);
    if (u.keepalive_s < 5) n.need("keepalive").fail("expected at least 5s");
    u.reconnect_min_ms = n.millis("reconnect_min", 500);
    u.reconnect_max_ms = n.millis("reconnect_max", 30'000);
    if (u.reconnect_min_ms < 10) n.need("reconnect_min").fail("expected at least 10ms");
    if (u.reconnect_max_ms < u.reconnect_min_ms) n.need("reconnect_max").fail("must not be less than reconnect_min");
    u.max_inflight = static_cast<std::size_t>(n.integer("max_inflight", 1, 1000, 16));
    u.status_interval_ms = n.millis("status_interval", 30'000);
    if (u.status_interval_ms < 1000) n.need("status_interval").fail("expected at least 1s");
    u.format = n.choice("format", {"native", "sparkplug"}, "native");
    ConfigNode spb = n["sparkplug"];
    if (spb.present() && u.format != "sparkplug") spb.fail("sparkplug settings need uplink.format: sparkplug");
    if (u.format == "sparkplug") {
        spb = n.need("sparkplug");
        spb.allow_only({"group_id", "edge_node_id", "primary_host_id", "hold_without_primary_host"});
        u.sparkplug.group_id = spb.str("group_id");
        require_topic_name(spb.need("group_id"), u.sparkplug.group_id);
        u.sparkplug.edge_node_id = spb.str("edge_node_id", gateway_id);
        require_topic_name(spb["edge_node_id"].present() ? spb["edge_node_id"] : spb, u.sparkplug.edge_node_id);
        u.sparkplug.primary_host_id = spb.str("primary_host_id", "");
        if (spb["primary_host_id"].present()) require_topic_name(spb["primary_host_id"], u.sparkplug.primary_host_id);
        u.sparkplug.hold_without_primary_host = spb.boolean("hold_without_primary_host", true);
    }
    return u;
}

Rs485Config parse_rs485(const ConfigNode& n) {
    Rs485Config r;
    if (!n.present()) return r;
    n.allow_only({"mode", "rts_on_send", "delay_before_send", "delay_after_send"});
    r.mode = n.choice("mode", {"off", "kernel", "rts"}, "kernel");
    r.rts_on_send = n.boolean("rts_on_send", true);
    r.delay_before_send_ms = n.millis("delay_before_send", 0);
    r.delay_after_send_ms = n.millis("delay_after_send", 0);
    return r;
}

NetworkConfig parse_network(const ConfigNode& n) {
    NetworkConfig c;
    n.allow_only({"connect_timeout", "reconnect_after_silence"});
    c.connect_timeout_ms = n.millis("connect_timeout", c.connect_timeout_ms);
    if (c.connect_timeout_ms < 100 || c.connect_timeout_ms > 300'000)
        n.need("connect_timeout").fail("expected a duration from 100ms to 5min");
    c.reconnect_after_silence_ms = n.millis("reconnect_after_silence", c.reconnect_after_silence_ms);
    if (c.reconnect_after_silence_ms != 0 && (c.reconnect_after_silence_ms < 1000 || c.reconnect_after_silence_ms > 86'400'000))
        n.need("reconnect_after_silence").fail("expected 0 (never) or a duration from 1s to 24h");
    return c;
}

PortConfig parse_port(const ConfigNode& n) {
    n.allow_only({"name", "path", "baud", "data_bits", "parity", "stop_bits", "flow_control", "rs485", "driver",
                  "settings", "devices", "reopen_min", "reopen_max", "report", "max_metrics", "network"});
    PortConfig p;
    p.name = n.str("name");
    require_topic_name(n.need("name"), p.name);
    p.path = n.str("path");
    const bool modbus_tcp = n["driver"].present() && n["driver"].as_string() == "modbus-tcp";
    EndpointParse endpoint = parse_network_path(p.path, modbus_tcp ? modbus::tcp::kDefaultPort : 0);
    if (!endpoint.error.empty()) n.need("path").fail(endpoint.error);
    p.endpoint = endpoint.endpoint;
    if (modbus_tcp && (!p.endpoint || p.endpoint->scheme != "tcp"))
        n.need("path").fail("the modbus-tcp driver talks to a Modbus TCP server: expected tcp://host[:port] (port " +
                            std::to_string(modbus::tcp::kDefaultPort) + " if none), got '" + p.path +
                            "'; for Modbus RTU behind a device server use driver: modbus-rtu");
    static const std::set<std::int64_t> rates = {300,   600,   1200,   2400,   4800,   9600,   19200,  38400,
                                                 57600, 115200, 230400, 460800, 500000, 921600, 1000000};
    // M-Bus lines run at 2400 baud 8E1 (EN 13757-2) unless the port says otherwise.
    const bool mbus = n["driver"].present() && n["driver"].as_string() == "mbus";
    ConfigNode baud = n["baud"];
    p.baud = static_cast<unsigned>(baud.present() ? baud.as_int(50, 4'000'000) : mbus ? 2400 : 9600);
    if (!rates.count(p.baud)) baud.fail("unsupported baud rate " + std::to_string(p.baud) +
                                        "; use a standard rate such as 4800, 9600, 19200, 38400 or 115200");
    p.data_bits = static_cast<unsigned>(n.integer("data_bits", 5, 8, 8));
    p.parity = n.choice("parity", {"none", "even", "odd"}, mbus ? "even" : "none");
    std::string stop = n.choice("stop_bits", {"1", "1.5", "2"}, "1");
    p.stop_bits = std::stod(stop);
    p.flow_control = n.choice("flow_control", {"none", "software", "hardware"}, "none");
    p.rs485 = parse_rs485(n["rs485"]);
    p.network = parse_network(n["network"]);
    if (p.endpoint && p.rs485.mode != "off")
        n.need("rs485").fail("a network port's RS-485 direction is switched by the device server; remove rs485 "
                             "from a " + p.endpoint->scheme + ":// port");
    if (!p.endpoint && n["network"].present())
        n["network"].fail("network settings apply to tcp:// and rfc2217:// paths, not to the device '" + p.path + "'");
    if (p.rs485.mode != "off" && p.flow_control == "hardware")
        n.need("flow_control").fail("hardware flow control uses RTS, which RS-485 direction control needs too");
    p.reopen_min_ms = n.millis("reopen_min", 500);
    p.reopen_max_ms = n.millis("reopen_max", 30'000);
    p.max_metrics = static_cast<std::size_t>(n.integer("max_metrics", 1, 1'000'000, static_cast<std::int64_t>(default_max_metrics)));
    p.report = n["report"];
    if (p.report.present()) {
        p.report.allow_only({"deadband", "on_change", "max_silence", "min_interval", "metrics"});
        (void)parse_report_policy(p.report);
        for (const auto& [name, node] : report_metrics(p.report)) {
            node.allow_only({"deadband", "on_change", "max_silence", "min_interval"});
            (void)parse_report_policy(node);
        }
    }
    p.fingerprint = YAML::Dump(n.yaml());
    return p;
}

// The port's driver, checked apart from its serial settings: they do not depend on each other.
void parse_driver(const ConfigNode& n, PortConfig& p) {
    p.driver = n.need("driver");
    p.settings = n["settings"];
    p.devices = n["devices"];
    if (p.devices.present() && !p.devices.is_sequence()) p.devices.fail("expected a list of devices");
    (void)make_driver(p.driver, driver_spec(p));  // validates the driver's settings and devices
    // What every driver's devices may carry for the report stage (each driver allows the keys).
    ConfigErrors errors;
    for (const ConfigNode& d : p.devices.items()) {
        errors.check([&] {
            if (d["report"].present()) {
                d["report"].allow_only({"deadband", "on_change", "max_silence", "min_interval"});
                (void)parse_report_policy(d["report"]);
            }
            if (d["offline_after_silence"].present() && d["offline_after_silence"].as_millis() < 100)
                d["offline_after_silence"].fail("offline_after_silence must be at least 100ms");
            (void)parse_labels(d["labels"]);
            (void)parse_descriptions(d["descriptions"]);
        });
    }
    errors.throw_if_any();
}

// Off the box the page needs a login; on loopback whoever reaches it is already on the box.
bool reaches_off_box(const std::string& listen) {
    if (listen == "off") return false;
    auto colon = listen.rfind(':');
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(listen.substr(0, colon == std::string::npos ? 0 : colon), ec);
    // Not an address at all: the server refuses it at start (and so serves nothing).
    return !ec && !address.is_loopback();
}

HttpConfig parse_http(const ConfigNode& n, const ConfigNode& metrics, const std::string& listen) {
    n.allow_only({"users", "users_file", "cert_file", "key_file", "login_addresses"});
    HttpConfig h;
    ConfigNode users = n["users"];
    if (users.present() && !users.is_sequence()) users.fail("expected a list of {name, password_hash}");
    std::set<std::string> names;
    for (const ConfigNode& u : users.items()) {
        u.allow_only({"name", "password_hash"});
        HttpUser user{u.str("name"), u.str("password_hash")};
        if (user.name.empty() || user.name.find(':') != std::string::npos)
            u.need("name").fail("expected a user name without ':'");
        if (!names.insert(user.name).second) u.need("name").fail("user '" + user.name + "' is listed twice");
        if (std::string problem = password_hash_problem(user.password_hash); !problem.empty())
            u.need("password_hash").fail(problem);
        h.users.push_back(std::move(user));
    }
    h.users_file = n.str("users_file", "");
    h.cert_file = n.str("cert_file", "");
    h.key_file = n.str("key_file", "");
    h.login_addresses = static_cast<std::size_t>(n.integer("login_addresses", 16, 65'536, static_cast<std::int64_t>(h.login_addresses)));
    if (h.cert_file.empty() != h.key_file.empty())
        n.need(h.cert_file.empty() ? "key_file" : "cert_file").fail("HTTPS needs both cert_file and key_file");
    if (h.users.empty() && h.users_file.empty() && reaches_off_box(listen))
        (metrics.present() ? metrics : n).fail("'" + listen + "' is reachable off the box; the status page then needs "
                                               "a login: add gateway.http.users or users_file (see `loopgate passwd`)");
    return h;
}

// A map of short strings whose values are what they are, never numbers a parser might reformat.
std::map<std::string, std::string> string_map(const ConfigNode& n, const char* what, std::size_t max_entries,
                                              std::size_t max_key, std::size_t max_value) {
    std::map<std::string, std::string> out;
    if (!n.present()) return out;
    if (!n.is_map()) n.fail(std::string("expected a map of ") + what);
    if (n.yaml().size() > max_entries) n.fail("at most " + std::to_string(max_entries) + " entries");
    for (const auto& entry : n.yaml()) {
        auto key = entry.first.as<std::string>();
        ConfigNode value = n[key];
        if (!value.yaml().IsScalar()) value.fail("expected a text value");
        std::string text = value.as_string();
        if (key.empty() || key.size() > max_key || !valid_utf8(key) || key.find_first_of(std::string("\0\n\r\t", 4)) != std::string::npos)
            value.fail("key '" + untrusted_text(key, 80) + "': expected 1-" + std::to_string(max_key) +
                       " bytes of UTF-8 without control characters");
        if (text.size() > max_value || !valid_utf8(text) || text.find('\0') != std::string::npos)
            value.fail("expected at most " + std::to_string(max_value) + " bytes of UTF-8 without NUL");
        out.emplace(std::move(key), std::move(text));
    }
    return out;
}

}  // namespace

std::map<std::string, std::string> parse_labels(const ConfigNode& n) {
    auto labels = string_map(n, "label names to values (site: north, area: pumps)", 32, 64, 128);
    for (const auto& [key, value] : labels)
        if (key.find('=') != std::string::npos) n[key].fail("label name '" + untrusted_text(key, 80) + "' contains '=' (find --label takes KEY=VALUE)");
    return labels;
}

std::map<std::string, std::string> parse_descriptions(const ConfigNode& n) {
    auto descriptions = string_map(n, "metric names to descriptions", 10'000, 64, 256);
    for (const auto& [metric, text] : descriptions) require_topic_name(n[metric], metric);
    return descriptions;
}

DriverSpec driver_spec(const PortConfig& p) {
    DriverSpec spec;
    spec.port.name = p.name;
    spec.port.baud = p.baud;
    spec.port.data_bits = p.data_bits;
    spec.port.parity = p.parity != "none";
    spec.port.stop_bits = p.stop_bits;
    spec.port.max_metrics = p.max_metrics;
    spec.settings = p.settings;
    spec.devices = p.devices;
    return spec;
}

Config parse_config(const ConfigNode& root) {
    if (!root.present() || !root.is_map()) root.fail("expected a map with gateway, uplink, store and ports");
    Config c;
    c.file = root.file();
    // Each section, port and driver is checked even when an earlier one is bad, so that one run
    // reports every problem; the config is refused as a whole if any was found.
    ConfigErrors errors;
    errors.check([&] { root.allow_only({"gateway", "uplink", "store", "ports", "commands", "signing", "remote_config"}); });
    for (const char* section : {"gateway", "uplink", "store"}) c.fingerprint += YAML::Dump(root[section].yaml()) + "\n";

    bool gateway_ok = errors.check([&] {
        ConfigNode gw = root.need("gateway");
        gw.allow_only({"id", "metrics", "clock_sync", "http", "labels"});
        c.labels = parse_labels(gw["labels"]);
        c.clock_sync = gw.str("clock_sync", "none");
        if (c.clock_sync != "none" && c.clock_sync != "kernel" && c.clock_sync.rfind("/", 0) != 0)
            gw.need("clock_sync").fail("expected none, kernel, or the absolute path of a file that exists once the clock "
                                       "is synchronized (such as /run/systemd/timesync/synchronized), got '" +
                                       c.clock_sync + "'" + did_you_mean(c.clock_sync, {"none", "kernel"}));
        c.gateway_id = gw.str("id");
        c.metrics_listen = gw.str("metrics", c.metrics_listen);
        require_topic_name(gw.need("id"), c.gateway_id);
        c.http = parse_http(gw["http"], gw["metrics"], c.metrics_listen);
    });

    // Without a valid gateway id, defaults derived from it would only add confusing errors.
    errors.check([&] { c.uplink = parse_uplink(root.need("uplink"), gateway_ok ? c.gateway_id : "gateway"); });

    errors.check([&] {
        ConfigNode store = root.need("store");
        store.allow_only({"path", "max_bytes", "max_age", "when_full", "durability", "write_delay", "commit_interval",
                          "replay_rate"});
        c.store.path = store.str("path");
        c.store.max_bytes = store.bytes("max_bytes", c.store.max_bytes);
        if (c.store.max_bytes < 1024 * 1024) store.need("max_bytes").fail("expected at least 1MiB");
        c.store.max_age_ms = store.millis("max_age", 0);
        if (c.store.max_age_ms < 0) store.need("max_age").fail("expected a positive duration");
        c.store.when_full = store.choice("when_full", {"drop_oldest", "stop_reading"}, "drop_oldest");
        // A config written before `durability` existed and asking for group commits meant the
        // write-through contract: it keeps it.
        bool has_interval = store["commit_interval"].present();
        c.store.durability = store.choice("durability", {"buffered", "write-through"},
                                          has_interval ? "write-through" : "buffered");
        c.store.commit_interval_ms = store.millis("commit_interval", 0);
        if (c.store.commit_interval_ms < 0 || c.store.commit_interval_ms > 60'000)
            store.need("commit_interval").fail("expected a duration from 0 to 60s");
        if (has_interval && c.store.durability == "buffered")
            store.need("commit_interval").fail("applies to durability: write-through; buffered writes what is "
                                               "not acknowledged within write_delay");
        c.store.write_delay_ms = store.millis("write_delay", c.store.write_delay_ms);
        if (c.store.write_delay_ms < 10 || c.store.write_delay_ms > 60'000)
            store.need("write_delay").fail("expected a duration from 10ms to 60s");
        if (store["write_delay"].present() && c.store.durability != "buffered")
            store.need("write_delay").fail("applies to durability: buffered");
        c.store.replay_rate = store.real("replay_rate", 0);
        if (c.store.replay_rate < 0) store.need("replay_rate").fail("expected readings per second, 0 for unlimited");
    });

    std::vector<ConfigNode> port_nodes;
    errors.check([&] { port_nodes = root.need("ports").items(); });
    std::set<std::string> names, paths;
    for (const ConfigNode& pn : port_nodes) {
        PortConfig p;
        bool port_ok = errors.check([&] {
            p = parse_port(pn);
            if (!names.insert(p.name).second) pn.need("name").fail("port name '" + p.name + "' is used twice");
            // tcp://plc and tcp://plc:502 are one server for modbus-tcp: compare what is connected to.
            const std::string where = p.endpoint ? p.endpoint->scheme + "://" + p.endpoint->host_port() : p.path;
            if (!paths.insert(where).second) pn.need("path").fail("path '" + where + "' is used by two ports");
        });
        bool driver_ok = errors.check([&] { parse_driver(pn, p); });
        if (port_ok && driver_ok) c.ports.push_back(std::move(p));
    }
    errors.check([&] { c.commands = parse_commands(root["commands"]); });
    errors.check([&] { c.signing = parse_signing(root["signing"]); });
    errors.check([&] { c.remote_config = parse_remote_config(root["remote_config"]); });
    errors.throw_if_any();
    return c;
}

Config load_config(const std::string& file) { return parse_config(ConfigNode::load_file(file)); }

}  // namespace loopgate
