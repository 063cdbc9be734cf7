#include "gateway/catalog/catalog_match.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/reading_json.hpp"

namespace loopgate {

namespace {

using Json = nlohmann::json;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool contains_folded(std::string_view haystack, const std::string& needle_lower) {
    if (needle_lower.empty()) return true;
    auto it = std::search(haystack.begin(), haystack.end(), needle_lower.begin(), needle_lower.end(),
                          [](char a, char b) { return lower(a) == b; });
    return it != haystack.end();
}

std::string text(const Json& object, const char* key) {
    if (!object.is_object()) return {};
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> labels_of(const Json& object) {
    std::map<std::string, std::string> out;
    if (!object.is_object()) return out;
    auto it = object.find("labels");
    if (it == object.end() || !it->is_object()) return out;
    for (const auto& [k, v] : it->items())
        if (v.is_string()) out[k] = v.get<std::string>();
    return out;
}

const Json& member(const Json& object, const char* key) {
    static const Json null_json;
    if (!object.is_object()) return null_json;
    auto it = object.find(key);
    return it != object.end() ? *it : null_json;
}

// A word that does not occur anywhere in the payload matches none of its metrics: most catalogs of a
// large fleet are skipped without parsing. Only safe where the payload's text is the value's text:
// not for a payload with \u escapes or a word JSON would escape.
bool may_match(std::string_view payload, const std::vector<std::string>& words_lower) {
    if (payload.find("\\u") != std::string_view::npos) return true;
    for (const std::string& w : words_lower) {
        if (w.find_first_of("\"\\") != std::string::npos) continue;
        if (std::any_of(w.begin(), w.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) continue;
        if (!contains_folded(payload, w)) return false;
    }
    return true;
}

}  // namespace

bool parse_label_query(const std::string& text, std::pair<std::string, std::string>& out) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out = {text.substr(0, eq), text.substr(eq + 1)};
    return true;
}

CatalogMatches match_catalog(std::string_view payload, const FindQuery& query) {
    CatalogMatches result;
    if (payload.size() > kMaxCatalogBytes) {
        result.ok = false;
        result.error = "larger than " + std::to_string(kMaxCatalogBytes) + " bytes";
        return result;
    }
    std::vector<std::string> words;
    for (const std::string& w : query.words) words.push_back(lowered(w));
    std::vector<std::string> must_appear = words;
    for (const auto& [k, v] : query.labels) must_appear.push_back(lowered(v));
    if (!may_match(payload, must_appear)) return result;

    Json doc = Json::parse(payload.begin(), payload.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        result.ok = false;
        result.error = "not a JSON object";
        return result;
    }
    const Json& schema = member(doc, "schema");
    if (!schema.is_number_integer() || schema.get<std::int64_t>() != 1) {
        result.ok = false;
        result.error = "not a catalog of schema 1";
        return result;
    }
    const Json& gw = member(doc, "gateway");
    const std::string gateway = text(gw, "id");
    const auto gateway_labels = labels_of(gw);
    const std::string payload_type = text(member(doc, "topics"), "data_payload");
    const std::string data_topic = text(member(doc, "topics"), "data");
    const Json& devices = member(doc, "devices");
    if (!devices.is_array()) return result;
    for (const Json& d : devices) {
        if (!d.is_object()) continue;
        const std::string device = text(d, "name");
        auto labels = gateway_labels;
        for (auto& [k, v] : labels_of(d)) labels[k] = v;
        bool labels_ok = std::all_of(query.labels.begin(), query.labels.end(), [&](const auto& want) {
            auto it = labels.find(want.first);
            return it != labels.end() && it->second == want.second;
        });
        if (!labels_ok) continue;
        const Json& metrics = member(d, "metrics");
        if (!metrics.is_array()) continue;
        for (const Json& m : metrics) {
            if (!m.is_object()) continue;
            CatalogMatch match{gateway, device, text(m, "name"), text(m, "unit"), text(m, "type"),
                               text(m, "description"), text(m, "topic"), payload_type, labels};
            if (match.topic.empty()) match.topic = data_topic;
            bool all = std::all_of(words.begin(), words.end(), [&](const std::string& w) {
                for (const std::string* field : {&match.gateway, &match.device, &match.metric, &match.unit, &match.description})
                    if (contains_folded(*field, w)) return true;
                for (const auto& [k, v] : match.labels)
                    if (contains_folded(k, w) || contains_folded(v, w)) return true;
                return false;
            });
            if (all) result.matches.push_back(std::move(match));
        }
    }
    return result;
}

std::string match_json(const CatalogMatch& m) {
    auto q = [](const std::string& s) { return "\"" + json_escape(s) + "\""; };
    std::string out = "{\"gateway\":" + q(m.gateway) + ",\"device\":" + q(m.device) + ",\"metric\":" + q(m.metric) +
                      ",\"unit\":" + q(m.unit) + ",\"type\":" + q(m.type) + ",\"description\":" + q(m.description) +
                      ",\"topic\":" + q(m.topic) + ",\"labels\":{";
    bool first = true;
    for (const auto& [k, v] : m.labels) {
        out += (first ? "" : ",") + q(k) + ":" + q(v);
        first = false;
    }
    return out + "}}";
}

}  // namespace loopgate
