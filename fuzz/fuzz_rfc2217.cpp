// What an RFC 2217 server sends, arbitrary: through the Telnet decoder, cut into segments where the
// input's first byte says (the reassembly across TCP segments), and the client's negotiation on the
// events. Checks what must hold whatever arrives: data never grows, the split stream decodes to
// the same data and events as the whole, and escaping the data and decoding it gives it back.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "gateway/serial/rfc2217_client.hpp"
#include "gateway/serial/telnet_codec.hpp"

using namespace loopgate;

namespace {

struct Result {
    std::vector<std::uint8_t> data;
    std::vector<telnet::Event> events;
};

Result run(std::span<const std::uint8_t> wire, std::size_t segment) {
    telnet::Decoder decoder;
    Rfc2217Client client({19200, 8, "even", 1, "none"});
    std::vector<std::uint8_t> replies;
    client.start(replies);
    Result r;
    for (std::size_t at = 0; at < wire.size(); at += segment) {
        std::vector<std::uint8_t> piece(wire.begin() + static_cast<std::ptrdiff_t>(at),
                                        wire.begin() + static_cast<std::ptrdiff_t>(std::min(wire.size(), at + segment)));
        std::size_t before = r.events.size();
        std::size_t n = decoder.decode(piece, r.events);
        if (n > piece.size()) std::abort();
        r.data.insert(r.data.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
        for (std::size_t i = before; i < r.events.size(); ++i) {
            if (r.events[i].payload.size() > telnet::max_subnegotiation) std::abort();
            client.on_event(r.events[i], replies);
        }
    }
    (void)client.differences();
    (void)client.confirmed().json();
    return r;
}

bool same(const Result& a, const Result& b) {
    if (a.data != b.data || a.events.size() != b.events.size()) return false;
    for (std::size_t i = 0; i < a.events.size(); ++i)
        if (a.events[i].kind != b.events[i].kind || a.events[i].option != b.events[i].option ||
            a.events[i].payload != b.events[i].payload)
            return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t segment = 1 + data[0] % 16;
    std::span<const std::uint8_t> wire(data + 1, size - 1);
    Result whole = run(wire, wire.size() + 1);
    Result split = run(wire, segment);
    if (!same(whole, split)) std::abort();

    // What we send: any data, escaped, decodes to itself with no events.
    std::vector<std::uint8_t> escaped;
    telnet::escape(wire, escaped);
    telnet::Decoder decoder;
    std::vector<telnet::Event> events;
    std::size_t n = decoder.decode(escaped, events);
    if (n != wire.size() || !events.empty() || decoder.protocol_errors() != 0) std::abort();
    for (std::size_t i = 0; i < n; ++i)
        if (escaped[i] != wire[i]) std::abort();
    return 0;
}
