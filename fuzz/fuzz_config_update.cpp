// libFuzzer target: a ConfigUpdate from the broker through decoding and every check
// (gateway/fleet/config_update.hpp), and the remote config state file's parser. Inputs that decode
// are also re-signed with the trusted key, so the YAML validation behind the signature gets reached.
// Aborts when a refusal of an unsigned sender's update holds a control character (it is logged and
// echoed: a newline in it forges log lines) or is unbounded, and when a state that was read, or
// holds the update's version, does not read back as written (a version the state file cannot hold
// is a replay mark lost).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/fleet/config_state.hpp"
#include "gateway/fleet/config_update.hpp"
#include "gateway/security/signed_bytes.hpp"

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
    loopgate::UpdateDecision first = checker.check(payload, size % 7 == 0, running, size % 3, now);
    if (first.refusal.size() > 1024) std::abort();
    for (char c : first.refusal)
        if (static_cast<unsigned char>(c) < 0x20) std::abort();

    auto round_trips = [](const loopgate::RemoteConfigState& s) {
        std::string problem;
        loopgate::RemoteConfigState back = loopgate::parse_state(loopgate::format_state(s), problem);
        back.report_reason = s.report_reason;  // written as one line: compared apart
        return problem.empty() && back == s;
    };
    loopgate::v1::ConfigUpdate u;
    if (u.ParseFromString(payload)) {
        loopgate::RemoteConfigState s;
        s.highest = s.pending = u.version();
        s.trial_deadline_ns = u.expires_ns();
        if (!round_trips(s)) std::abort();
        u.set_gateway_id("fuzz");
        u.set_expires_ns(now + 1);
        u.set_version(u.version() + 3);
        u.set_key_id(key.id());
        u.set_signature(key.sign(loopgate::signed_bytes(u)));
        (void)checker.check(u.SerializeAsString(), false, running, 2, now);
    }
    std::string problem;
    loopgate::RemoteConfigState read = loopgate::parse_state(payload, problem);
    if (problem.empty() && !round_trips(read)) std::abort();
    return 0;
}
