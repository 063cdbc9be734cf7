// libFuzzer target: command decoding and every check (gateway/downlink/command_check.hpp) over arbitrary
// payloads, with a target that accepts some devices and refuses some points.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/downlink/command_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static loopgate::CommandsConfig config = [] {
        loopgate::CommandsConfig c;
        c.enabled = true;
        c.id_cache = 64;
        return c;
    }();
    static loopgate::CommandProcessor processor(config, "fuzz");
    loopgate::CommandTarget target;
    target.has_device = [](const std::string& d) { return !d.empty() && d[0] == 'm'; };
    target.write = [](const std::string&, const std::string& p, const loopgate::Value&) {
        return loopgate::WriteResult{p.size() % 2 == 0, "odd"};
    };
    std::string_view payload(reinterpret_cast<const char*>(data), size);
    // Time moves with the input so expiry, replay pruning and the rate limiter all get exercised.
    std::int64_t now = static_cast<std::int64_t>(size) * 1'000'000'007LL;
    auto result = processor.process(payload, now, target);
    loopgate::v1::Command c;
    if (loopgate::decode_command(payload, c).empty()) {
        (void)loopgate::check_shape(c);
        (void)loopgate::signed_bytes(c);
        (void)result.status();
    }
    return 0;
}
