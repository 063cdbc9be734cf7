#pragma once
// Reads gpsd's flat JSON reports (the .chk files of ../shared/fieldtruth and ../shared/fixtures):
// one object per line, scalar values only where the tests look.

#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace gpsd_json {

// The lines of a capture or of gpsd's report of it, without their CR.
inline std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
    }
    return out;
}

// The raw text of a top-level scalar value (a string's content with its escapes resolved).
inline std::optional<std::string> raw(const std::string& line, const std::string& key) {
    const std::string needle = "\"" + key + "\":";
    std::size_t pos = line.find(needle);
    if (pos == std::string::npos) return std::nullopt;
    pos += needle.size();
    if (pos < line.size() && line[pos] == '"') {
        std::string out;
        for (std::size_t i = pos + 1; i < line.size(); ++i) {
            if (line[i] == '"') return out;
            if (line[i] == '\\' && i + 1 < line.size()) ++i;  // \" and \\ (gpsd escapes nothing else here)
            out.push_back(line[i]);
        }
        return std::nullopt;
    }
    std::size_t end = line.find_first_of(",}]", pos);
    if (end == std::string::npos) return std::nullopt;
    return line.substr(pos, end - pos);
}

inline std::optional<long long> integer(const std::string& line, const std::string& key) {
    auto r = raw(line, key);
    if (!r) return std::nullopt;
    return std::stoll(*r);
}

}  // namespace gpsd_json
