#pragma once
// `loopgate find`'s matcher: one catalog payload (remote input: whatever sits retained on
// `<prefix>/+/catalog`) and a query in, the metrics that match out. Pure: no I/O, nothing kept
// between catalogs, so a search over ten thousand gateways holds one catalog at a time.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loopgate {

struct FindQuery {
    std::vector<std::string> words;                            // each matches, ASCII case-insensitively, a part of
                                                               // gateway, device, metric, unit, description or a label
    std::vector<std::pair<std::string, std::string>> labels;   // each equals a label of the device or its gateway
};

struct CatalogMatch {
    std::string gateway;
    std::string device;
    std::string metric;
    std::string unit;
    std::string type;
    std::string description;
    std::string topic;         // where its readings are published
    std::string payload_type;  // loopgate.v1.Batch or loopgate.v1.SignedBatch
    std::map<std::string, std::string> labels;  // the gateway's, with the device's over them
};

struct CatalogMatches {
    bool ok = true;
    std::string error;  // why the payload is not a catalog this reader understands
    std::vector<CatalogMatch> matches;
};

// Catalogs larger than this are refused unparsed (a gateway's is a few KiB per device).
inline constexpr std::size_t kMaxCatalogBytes = 16u << 20;

CatalogMatches match_catalog(std::string_view payload, const FindQuery& query);

// "KEY=VALUE" as a label query; false when there is no '=' or the key is empty.
bool parse_label_query(const std::string& text, std::pair<std::string, std::string>& out);

// One match as one JSON object (find --json), without a trailing newline.
std::string match_json(const CatalogMatch& m);

}  // namespace loopgate
