#include "drivers/modbus_tcp/mbap_frame.hpp"

#include <algorithm>

namespace loopgate::modbus::tcp {

namespace {

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

// Checks the header and that the PDU's own length (from its function code) fills the header's.
std::optional<std::span<const std::uint8_t>> pdu_of(std::span<const std::uint8_t> adu, Header& header,
                                                    PduSize (*pdu_size)(std::span<const std::uint8_t>),
                                                    std::string& error) {
    AduSize size = adu_size(adu);
    if (size.status == AduSize::invalid) {
        error = adu.size() >= 4 && be16(adu, 2) != 0 ? "not a Modbus protocol id" : "MBAP length out of range";
        return std::nullopt;
    }
    if (size.status == AduSize::need_more || adu.size() < size.length) {
        error = "truncated frame";
        return std::nullopt;
    }
    header = size.header;
    if (adu.size() > size.length) {
        error = "frame longer than its MBAP length";
        return std::nullopt;
    }
    std::span<const std::uint8_t> pdu = adu.subspan(kHeaderSize);
    PduSize p = pdu_size(pdu);
    if (p.status == PduSize::invalid) {
        error = "unknown function code";
        return std::nullopt;
    }
    if (p.status == PduSize::need_more || p.length != pdu.size()) {
        error = "MBAP length disagrees with the function code";
        return std::nullopt;
    }
    return pdu;
}

}  // namespace

std::vector<std::uint8_t> frame(const Request& request, std::uint16_t transaction) {
    std::vector<std::uint8_t> pdu = encode_request(request);
    std::size_t length = 1 + pdu.size();
    std::vector<std::uint8_t> out(kHeaderSize + pdu.size());
    out[0] = static_cast<std::uint8_t>(transaction >> 8);
    out[1] = static_cast<std::uint8_t>(transaction);
    out[4] = static_cast<std::uint8_t>(length >> 8);
    out[5] = static_cast<std::uint8_t>(length);
    out[6] = request.unit;
    std::copy(pdu.begin(), pdu.end(), out.begin() + kHeaderSize);
    return out;
}

AduSize adu_size(std::span<const std::uint8_t> b) {
    AduSize s;
    // Judge what is there already: a wrong protocol id shows before the length has arrived.
    if (b.size() >= 4 && be16(b, 2) != 0) s.status = AduSize::invalid;
    if (b.size() < 6 || s.status == AduSize::invalid) return s;
    std::uint16_t length = be16(b, 4);
    if (length < 2 || length > 1 + kMaxPduSize) {
        s.status = AduSize::invalid;
        return s;
    }
    s.length = 6 + std::size_t{length};
    if (b.size() < kHeaderSize) return s;  // need_more, length already known
    s.status = AduSize::known;
    s.header = {be16(b, 0), 0, length, b[6]};
    return s;
}

std::optional<Response> parse_response(std::span<const std::uint8_t> adu, Header& header, std::string& error) {
    auto pdu = pdu_of(adu, header, response_pdu_size, error);
    if (!pdu) return std::nullopt;
    return decode_response(header.unit, *pdu, error);
}

std::optional<Request> parse_request(std::span<const std::uint8_t> adu, Header& header, std::string& error) {
    auto pdu = pdu_of(adu, header, request_pdu_size, error);
    if (!pdu) return std::nullopt;
    return decode_request(header.unit, *pdu, error);
}

}  // namespace loopgate::modbus::tcp
