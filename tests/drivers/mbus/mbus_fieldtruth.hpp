#pragma once
// Reads libmbus's test frames and its normalized XML (../shared/fieldtruth/libmbus/) at test time.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../hex_bytes.hpp"

namespace mbus_fieldtruth {

inline std::filesystem::path dir() { return std::filesystem::path(LOOPGATE_FIELDTRUTH_DIR) / "libmbus"; }

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::vector<std::uint8_t> frame_bytes(const std::filesystem::path& p) { return hex(slurp(p)); }

// The .hex files of one folder, sorted by name.
inline std::vector<std::filesystem::path> hex_files(const std::string& folder) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir() / folder))
        if (e.path().extension() == ".hex") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// One <DataRecord> of libmbus's XML: its child elements by tag (absent tags are absent keys).
using XmlRecord = std::map<std::string, std::string>;

inline std::string unescape(std::string s) {
    const std::pair<const char*, const char*> kEntities[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
    for (auto [from, to] : kEntities)
        for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) s.replace(at, std::strlen(from), to);
    return s;
}

inline std::vector<XmlRecord> records(const std::string& xml) {
    std::vector<XmlRecord> out;
    std::size_t pos = 0;
    while ((pos = xml.find("<DataRecord", pos)) != std::string::npos) {
        std::size_t end = xml.find("</DataRecord>", pos);
        std::string body = xml.substr(pos, end - pos);
        XmlRecord r;
        std::size_t t = body.find('>') + 1;
        while ((t = body.find('<', t)) != std::string::npos) {
            std::size_t close = body.find('>', t);
            std::string tag = body.substr(t + 1, close - t - 1);
            std::size_t value_end = body.find("</" + tag + ">", close);
            if (value_end == std::string::npos) break;
            r[tag] = unescape(body.substr(close + 1, value_end - close - 1));
            t = value_end + tag.size() + 3;
        }
        out.push_back(r);
        pos = end;
    }
    return out;
}

inline std::string slave_field(const std::string& xml, const std::string& tag) {
    std::size_t a = xml.find("<" + tag + ">");
    if (a == std::string::npos) return {};
    a += tag.size() + 2;
    return unescape(xml.substr(a, xml.find("</" + tag + ">", a) - a));
}

}  // namespace mbus_fieldtruth
