// libFuzzer target: command decoding and every check (gateway/downlink/command_check.hpp) over arbitrary
// payloads, with a target that accepts some devices and refuses some points.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/downlink/command_check.hpp"
#include "gateway/security/signed_bytes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static loopgate::CommandsConfig config = [] {
        loopgate::CommandsConfig c;
        c.enabled = true;
        c.id_cache = 64;
        return c;
    }();
    static loopgate::CommandProcessor processor(config, "fuzz");
    static loopgate::RateLimiter rate(5);
    loopgate::CommandTarget target;
    target.admit = [](const std::string& d, std::int64_t now_ns) -> loopgate::Refusal {
        if (d.empty() || d[0] != 'm') return {"unknown_device", "no"};
        if (auto e = rate.admit(d, now_ns); !e.empty()) return {"rate", e};
        return {};
    };
    target.submit = [](const loopgate::v1::Command& c) -> loopgate::Refusal {
        // What the handler takes from an admitted command: its value, and whether to verify.
        (void)loopgate::command_value(c);
        (void)c.verify();
        if (c.point().size() % 2) return {"driver", "odd"};
        return {};
    };
    std::string_view payload(reinterpret_cast<const char*>(data), size);
    // Time moves with the input so expiry, replay pruning and the rate limiter all get exercised.
    std::int64_t now = static_cast<std::int64_t>(size) * 1'000'000'007LL;
    auto admission = processor.process(payload, now, target);
    // A refusal always says why, with a label; a submitted command has not been answered yet.
    if (!admission.submitted() && (admission.reason.empty() || admission.result.error().empty())) __builtin_trap();
    if (admission.submitted() && !admission.reason.empty()) __builtin_trap();
    loopgate::v1::Command c;
    if (loopgate::decode_command(payload, c).empty()) {
        (void)loopgate::check_shape(c);
        (void)loopgate::signed_bytes(c);
        (void)admission.result.status();
    }
    return 0;
}
