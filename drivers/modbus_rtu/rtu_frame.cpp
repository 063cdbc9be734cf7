#include "drivers/modbus_rtu/rtu_frame.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "drivers/modbus_rtu/crc16.hpp"

namespace loopgate::modbus::rtu {

namespace {

// A PDU's size is an ADU's less the unit id in front and the CRC behind.
FrameSize adu_size(std::span<const std::uint8_t> b, PduSize (*pdu_size)(std::span<const std::uint8_t>)) {
    if (b.size() < 2) return {FrameSize::need_more, 0};
    if (b[0] > kMaxUnit) return {FrameSize::invalid, 0};
    PduSize p = pdu_size(b.subspan(1));
    switch (p.status) {
        case PduSize::need_more: return {FrameSize::need_more, 0};
        case PduSize::invalid: return {FrameSize::invalid, 0};
        case PduSize::known: break;
    }
    return {FrameSize::known, 1 + p.length + 2};
}

// How a failed whole-frame check is worded. Requests and responses keep their own wording (a request
// has a single "wrong request length"); "bad CRC" is shared because the driver counts it by its text.
struct FrameErrors {
    const char* invalid;
    const char* truncated;
    const char* overlong;
};

std::optional<std::string> frame_error(std::span<const std::uint8_t> adu, FrameSize size, const FrameErrors& say) {
    if (size.status == FrameSize::invalid) return say.invalid;
    if (size.status == FrameSize::need_more || adu.size() < size.length) return say.truncated;
    if (adu.size() > size.length) return say.overlong;
    if (!crc_ok(adu)) return "bad CRC";
    return std::nullopt;
}

std::span<const std::uint8_t> pdu_of(std::span<const std::uint8_t> adu) { return adu.subspan(1, adu.size() - 3); }

}  // namespace

std::vector<std::uint8_t> frame(const Request& request) {
    std::vector<std::uint8_t> out{request.unit};
    std::vector<std::uint8_t> pdu = encode_request(request);
    out.insert(out.end(), pdu.begin(), pdu.end());
    append_crc(out);
    return out;
}

FrameSize response_size(std::span<const std::uint8_t> b) { return adu_size(b, response_pdu_size); }
FrameSize request_size(std::span<const std::uint8_t> b) { return adu_size(b, request_pdu_size); }

std::optional<Response> parse_response(std::span<const std::uint8_t> adu, std::string& error) {
    const char* invalid = adu.size() >= 2 && adu[0] > kMaxUnit ? "unit id out of range" : "unknown function code";
    if (auto why = frame_error(adu, response_size(adu),
                               {invalid, "truncated frame", "frame longer than its function code allows"})) {
        error = std::move(*why);
        return std::nullopt;
    }
    return decode_response(adu[0], pdu_of(adu), error);
}

std::optional<Request> parse_request(std::span<const std::uint8_t> adu, std::string& error) {
    if (auto why = frame_error(adu, request_size(adu), {"not a request", "wrong request length", "wrong request length"})) {
        error = std::move(*why);
        return std::nullopt;
    }
    return decode_request(adu[0], pdu_of(adu), error);
}

namespace {

enum class At { none, partial, complete };

// What could start at the front of `b` as one kind of frame.
At frame_at(std::span<const std::uint8_t> b, bool response) {
    FrameSize size = response ? response_size(b) : request_size(b);
    if (size.status == FrameSize::invalid) return At::none;
    if (size.status == FrameSize::need_more || b.size() < size.length) return At::partial;
    return crc_ok(b.first(size.length)) ? At::complete : At::none;
}

At best_at(std::span<const std::uint8_t> b, FrameKinds kinds) {
    At r = kinds.responses ? frame_at(b, true) : At::none;
    if (r == At::complete || !kinds.requests) return r;
    At q = frame_at(b, false);
    return q == At::none ? r : q == At::complete ? q : At::partial;
}

}  // namespace

std::optional<std::size_t> find_frame(std::span<const std::uint8_t> bytes, FrameKinds kinds) {
    for (std::size_t p = 0; p < bytes.size(); ++p)
        if (best_at(bytes.subspan(p), kinds) == At::complete) return p;
    return std::nullopt;
}

std::size_t dead_prefix(std::span<const std::uint8_t> bytes, FrameKinds kinds) {
    std::size_t p = 0;
    while (p < bytes.size() && best_at(bytes.subspan(p), kinds) == At::none) ++p;
    return p;
}

Timing timing(unsigned baud, double bits_per_char, std::optional<std::chrono::nanoseconds> frame_gap) {
    using std::chrono::nanoseconds;
    // Serial Line V1.02, 2.5.1.1: t1.5 and t3.5 scale with the character time up to 19200 baud and
    // are fixed at 750 us / 1750 us above, where UARTs cannot time them anyway.
    if (baud == 0) baud = 9600;
    if (bits_per_char <= 0) bits_per_char = 11;
    Timing t;
    t.char_time = nanoseconds(static_cast<std::int64_t>(std::llround(bits_per_char * 1e9 / baud)));
    t.t35 = baud > 19200 ? nanoseconds(1'750'000) : nanoseconds(t.char_time.count() * 7 / 2);
    t.silence = frame_gap ? std::max(*frame_gap, t.t35) : t.t35;
    return t;
}

}  // namespace loopgate::modbus::rtu
