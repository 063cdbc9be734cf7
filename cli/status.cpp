// loopgate status [--url URL]: the status page's summary as tables, for a box reached over ssh only.
// Reads the same document the page does (GET /api/status).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/commands.hpp"
#include "gateway/config.hpp"
#include "gateway/security/base64.hpp"

namespace loopgate::commands {

const char* const status_usage =
    "usage: loopgate status [--url URL | --config FILE] [--user NAME] [--insecure] [--timeout SECONDS]\n"
    "\n"
    "Prints what the status page shows (gateway, uplink, store, ports, devices, live values, recent\n"
    "commands) as tables, from a running gateway's GET /api/status. Exit 1 when it cannot be read.\n"
    "\n"
    "options:\n"
    "  --url URL          the page's address (default http://127.0.0.1:9464/)\n"
    "  --config FILE      take the address from this gateway config (gateway.metrics, gateway.http)\n"
    "  --user NAME        log in as NAME (a page reachable off the box); the password is asked for, or\n"
    "                     read from the environment variable LOOPGATE_PASSWORD\n"
    "  --insecure         HTTPS: do not verify the gateway's certificate (a self-signed one)\n"
    "  --timeout SECONDS  give up after this long (default 5)\n";

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

struct Url {
    bool https = false;
    std::string host;
    std::string port;
    std::string path;  // the page's path, ending in '/'
};

Url parse_url(const std::string& text) {
    Url u;
    std::string rest;
    if (text.rfind("http://", 0) == 0) rest = text.substr(7);
    else if (text.rfind("https://", 0) == 0) u.https = true, rest = text.substr(8);
    else throw std::invalid_argument("--url must start with http:// or https://, got '" + text + "'");
    std::size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    u.path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (u.path.back() != '/') u.path += '/';
    std::size_t colon = authority.rfind(':');
    std::size_t bracket = authority.rfind(']');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
        u.host = authority.substr(0, colon);
        u.port = authority.substr(colon + 1);
    } else {
        u.host = authority;
        u.port = u.https ? "443" : "80";
    }
    if (u.host.size() > 1 && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
    if (u.host.empty()) throw std::invalid_argument("--url has no host: '" + text + "'");
    return u;
}

std::string url_from_config(const Config& c) {
    if (c.metrics_listen == "off") throw std::runtime_error(c.file + ": gateway.metrics is off; the gateway serves no page");
    std::string listen = c.metrics_listen;
    std::size_t colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::" || host == "[::]") host = "[::1]";
    else if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    return std::string(c.http.cert_file.empty() ? "http" : "https") + "://" + host + listen.substr(colon) + "/";
}

template <class Stream>
http::response<http::string_body> round_trip(Stream& stream, const http::request<http::empty_body>& request) {
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    return parser.release();
}

std::string fetch(const Url& url, const std::string& authorization, bool insecure, double timeout) {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(url.host, url.port);
    http::request<http::empty_body> request{http::verb::get, url.path + "api/status", 11};
    request.set(http::field::host, url.host);
    request.set(http::field::user_agent, "loopgate-status");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    auto deadline = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    http::response<http::string_body> response;
    if (url.https) {
        ssl::context ctx(ssl::context::tls_client);
        if (insecure) {
            ctx.set_verify_mode(ssl::verify_none);
        } else {
            ctx.set_default_verify_paths();
            ctx.set_verify_mode(ssl::verify_peer);
            ctx.set_verify_callback(ssl::host_name_verification(url.host));
        }
        beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
        SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
        beast::get_lowest_layer(stream).expires_after(deadline);
        beast::get_lowest_layer(stream).connect(endpoints);
        stream.handshake(ssl::stream_base::client);
        response = round_trip(stream, request);
    } else {
        beast::tcp_stream stream(io);
        stream.expires_after(deadline);
        stream.connect(endpoints);
        response = round_trip(stream, request);
    }
    if (response.result() == http::status::unauthorized)
        throw std::runtime_error("the gateway asks for a login: give --user NAME (and the password)");
    if (response.result() != http::status::ok)
        throw std::runtime_error("GET " + url.path + "api/status: HTTP " + std::to_string(response.result_int()) + " " +
                                 std::string(response.reason()));
    return response.body();
}

// Plain text tables: columns as wide as their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            out += cells[i];
            if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
        }
        std::printf("%s\n", out.c_str());
    };
    line(header);
    for (const auto& r : rows) line(r);
    std::printf("\n");
}

std::string s(const YAML::Node& n) { return n && !n.IsNull() ? n.as<std::string>() : "-"; }
std::uint64_t u(const YAML::Node& n) { return n && !n.IsNull() ? n.as<std::uint64_t>() : 0; }

std::string duration(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    char buf[64];
    if (seconds >= 86400) std::snprintf(buf, sizeof buf, "%lldd %lldh", (long long)seconds / 86400, (long long)seconds % 86400 / 3600);
    else if (seconds >= 3600) std::snprintf(buf, sizeof buf, "%lldh %lldm", (long long)seconds / 3600, (long long)seconds % 3600 / 60);
    else if (seconds >= 60) std::snprintf(buf, sizeof buf, "%lldm %llds", (long long)seconds / 60, (long long)seconds % 60);
    else std::snprintf(buf, sizeof buf, "%llds", (long long)seconds);
    return buf;
}

std::string utc(const YAML::Node& ns) {
    if (!ns || ns.IsNull()) return "-";
    std::time_t t = static_cast<std::time_t>(ns.as<std::int64_t>() / 1'000'000'000);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::string size(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int i = 0;
    while (v >= 1024 && i < 4) v /= 1024, ++i;
    char buf[32];
    std::snprintf(buf, sizeof buf, i ? "%.1f %s" : "%.0f %s", v, units[i]);
    return buf;
}

void print_status(const YAML::Node& doc) {
    const YAML::Node g = doc["gateway"], up = doc["uplink"], st = doc["store"];
    std::printf("gateway %s  loopgate %s  up %s  clock %s  disk free %s\n", s(g["id"]).c_str(), s(g["version"]).c_str(),
                duration(g["uptime_s"].as<std::int64_t>()).c_str(),
                g["clock"]["synchronized"].as<bool>() ? "synchronized" : "NOT synchronized",
                g["disk_free_bytes"].IsNull() ? "-" : size(u(g["disk_free_bytes"])).c_str());
    std::string remote;
    if (g["config_version"] && u(g["config_version"]) != 0)
        remote = "remote version " + std::to_string(u(g["config_version"])) +
                 (g["config_on_trial"] && g["config_on_trial"].as<bool>() ? " (ON TRIAL)" : "") + "  ";
    std::printf("config  %s%s  sha256 %s  loaded %s\n\n", remote.c_str(), s(g["config_file"]).c_str(),
                s(g["config_sha256"]).c_str(), utc(g["config_loaded_ns"]).c_str());
    std::string failovers = "-";
    if (up["failovers"] && (u(up["failovers"]) || u(up["failbacks"])))
        failovers = std::to_string(u(up["failovers"])) + " (" + std::to_string(u(up["failbacks"])) + " back)" +
                    (up["last_failover_cause"].IsNull() ? "" : ", last: " + s(up["last_failover_cause"]));
    std::string broker = s(up["broker"]);
    if (up["brokers"] && up["brokers"].size() > 1) {
        std::size_t position = 0;
        while (position < up["brokers"].size() && s(up["brokers"][position]) != broker) ++position;
        broker += " (" + std::to_string(position + 1) + " of " + std::to_string(up["brokers"].size()) + ")";
    }
    if (up["client_id_conflict"] && up["client_id_conflict"].as<bool>())
        std::printf("UPLINK CLIENT ID %s IS IN USE BY ANOTHER CLIENT: the broker takes the session over, "
                    "give each gateway its own uplink.client_id\n\n", s(up["client_id"]).c_str());
    print_table({"UPLINK", "STATE", "TLS", "RECONNECTS", "FAILOVERS", "IN FLIGHT", "LAST ERROR"},
                {{broker,
                  up["connected"].as<bool>() ? "connected since " + utc(up["connected_since_ns"]) : "DISCONNECTED",
                  up["tls"].as<bool>() ? (up["tls_verify"].as<bool>() ? "on" : "on, NOT verified") : "off",
                  std::to_string(u(up["reconnects"])), failovers, std::to_string(u(up["in_flight"])), s(up["last_error"])}});
    print_table({"STORE", "BACKLOG", "OLDEST", "DROPPED READINGS", "WRITTEN", "COMMIT/SYNC/READ FAILURES"},
                {{s(st["path"]), std::to_string(u(st["backlog_batches"])) + " batches, " + size(u(st["backlog_bytes"])),
                  st["oldest_age_s"].IsNull() ? "-" : duration(st["oldest_age_s"].as<std::int64_t>()),
                  std::to_string(u(st["dropped_readings"])), size(u(st["bytes_written"])),
                  std::to_string(u(st["commit_failures"])) + "/" + std::to_string(u(st["sync_failures"])) + "/" +
                      std::to_string(u(st["read_failures"]))}});
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : doc["ports"]) {
        std::string counters;
        for (const auto& c : p["counters"])
            if (u(c.second)) counters += (counters.empty() ? "" : ", ") + c.first.as<std::string>() + " " + s(c.second);
        rows.push_back({s(p["name"]), s(p["path"]),
                        p["open"].as<bool>() ? "open" : "closed" + (p["last_error"].IsNull() ? "" : ": " + s(p["last_error"])),
                        size(u(p["bytes_read"])), std::to_string(u(p["failures"])), counters.empty() ? "-" : counters});
    }
    print_table({"PORT", "PATH", "STATE", "READ", "FAILURES", "DRIVER COUNTERS"}, rows);
    rows.clear();
    for (const auto& d : doc["devices"])
        rows.push_back({s(d["name"]), d["online"].IsNull() ? "-" : d["online"].as<bool>() ? "online" : "OFFLINE",
                        d["last_reading_age_ms"] ? duration(d["last_reading_age_ms"].as<std::int64_t>() / 1000) + " ago" : "never",
                        d["readings_last_minute"] ? s(d["readings_last_minute"]) : "-"});
    print_table({"DEVICE", "ONLINE", "LAST READING", "PER MIN"}, rows);
    rows.clear();
    for (const auto& v : doc["values"]) {
        std::string value = s(v["value"]);
        if (!s(v["unit"]).empty()) value += " " + s(v["unit"]);
        rows.push_back({s(v["device"]) + "/" + s(v["metric"]), value, s(v["quality"]),
                        utc(v["source_time"].IsNull() ? v["receive_time"] : v["source_time"])});
    }
    print_table({"VALUE", "LATEST", "QUALITY", "TIME"}, rows);
    rows.clear();
    for (const auto& c : doc["commands"]["recent"])
        rows.push_back({utc(c["time_ns"]), s(c["id"]), s(c["status"]), s(c["detail"])});
    if (!rows.empty()) print_table({"COMMAND TIME", "ID", "OUTCOME", "DETAIL"}, rows);
}

}  // namespace

int status(const Args& args) {
    allow_only(args, {"--url", "--config", "--user", "--timeout"}, {"--insecure"});
    std::string url_text = option(args, "--url");
    if (!option(args, "--config").empty()) {
        if (!url_text.empty()) throw std::invalid_argument("give --url or --config, not both");
        url_text = url_from_config(load_config(option(args, "--config")));
    }
    if (url_text.empty()) url_text = "http://127.0.0.1:9464/";
    Url url = parse_url(url_text);
    double timeout = number_option(args, "--timeout", 5, 0.1);
    std::string authorization;
    if (std::string user = option(args, "--user"); !user.empty()) {
        const char* env = std::getenv("LOOPGATE_PASSWORD");
        std::string password = env ? env : read_secret("password: ");
        authorization = "Basic " + base64_encode(user + ":" + password);
    }
    std::string body;
    try {
        body = fetch(url, authorization, flag(args, "--insecure"), timeout);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot read " + url_text + ": " + e.code().message());
    }
    YAML::Node doc;
    try {
        doc = YAML::Load(body);
        print_status(doc);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error("the answer of " + url_text + " is not a status document: " + e.what());
    }
    return 0;
}

}  // namespace loopgate::commands
