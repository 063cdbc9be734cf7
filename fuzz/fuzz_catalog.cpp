// loopgate find reads whatever sits retained on <prefix>/+/catalog: any bytes, matched against a query.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/catalog/catalog_match.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view payload(reinterpret_cast<const char*>(data), size);
    static const loopgate::FindQuery everything{};
    static const loopgate::FindQuery some{{"temp", "c"}, {{"site", "north"}}};
    auto all = loopgate::match_catalog(payload, everything);
    for (const auto& m : all.matches) (void)loopgate::match_json(m);
    (void)loopgate::match_catalog(payload, some);
    return 0;
}
