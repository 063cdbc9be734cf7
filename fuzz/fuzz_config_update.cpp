// libFuzzer target: a ConfigUpdate from the broker through decoding and every check
// (gateway/fleet/config_update.hpp), and the remote config state file's parser. Inputs that decode
// are also re-signed with the trusted key, so the YAML validation behind the signature gets reached.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/fleet/config_state.hpp"
#include "gateway/fleet/config_update.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const loopgate::ed25519::Key key = loopgate::ed25519::Key::generate();
    static const loopgate::ConfigUpdateChecker checker(std::vector<loopgate::ed25519::Key>{key});
    static const loopgate::Config running = [] {
        loopgate::Config c;
        c.gateway_id = "fuzz";
        c.store.path = "/tmp/fuzz.db";
        return c;
    }();
    std::string payload(reinterpret_cast<const char*>(data), size);
    std::int64_t now = static_cast<std::int64_t>(size) * 1'000'000'007LL;
    (void)checker.check(payload, size % 7 == 0, running, size % 3, now);

    loopgate::v1::ConfigUpdate u;
    if (u.ParseFromString(payload)) {
        u.set_gateway_id("fuzz");
        u.set_expires_ns(now + 1);
        u.set_version(u.version() + 3);
        u.set_key_id(key.id());
        u.set_signature(key.sign(loopgate::signed_bytes(u)));
        (void)checker.check(u.SerializeAsString(), false, running, 2, now);
    }
    std::string problem;
    (void)loopgate::parse_state(payload, problem);
    return 0;
}
