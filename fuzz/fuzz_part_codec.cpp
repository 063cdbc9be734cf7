// Stored parts read back from disk (gateway/store/part_codec.hpp): whatever the bytes, decoding
// returns the raw part or nothing, within its limit, and whatever it returns encodes and decodes
// back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/store/part_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t limit = 1 << 20;
    auto raw = loopgate::decode_part(in, 1, limit);
    if (raw && raw->size() > limit) std::abort();
    std::string_view plain = raw ? std::string_view(*raw) : in;
    loopgate::EncodedPart e = loopgate::encode_part(plain);
    auto back = loopgate::decode_part(e.bytes, static_cast<int>(e.encoding), limit);
    if (!back || *back != plain) std::abort();
    return 0;
}
