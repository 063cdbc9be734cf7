#include "gateway/ops/basic_auth.hpp"

#include <algorithm>

#include "gateway/security/base64.hpp"

namespace loopgate {

namespace {

constexpr std::size_t max_header_bytes = 1024;

bool has_control_characters(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

}  // namespace

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
    if (header.size() > max_header_bytes) return std::nullopt;
    constexpr std::string_view scheme = "basic";
    if (header.size() <= scheme.size() || !iequals(header.substr(0, scheme.size()), scheme)) return std::nullopt;
    std::string_view token = header.substr(scheme.size());
    if (token.front() != ' ') return std::nullopt;
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    auto decoded = base64_decode(token);
    if (!decoded) return std::nullopt;
    std::size_t colon = decoded->find(':');
    if (colon == 0 || colon == std::string::npos) return std::nullopt;
    BasicCredentials c{decoded->substr(0, colon), decoded->substr(colon + 1)};
    if (has_control_characters(c.user) || has_control_characters(c.password)) return std::nullopt;
    return c;
}

}  // namespace loopgate
