#pragma once
// The client side of RFC 2217 (Telnet COM-PORT-OPTION), sans I/O: what to send on a new connection
// to have the server set its serial port to the port's settings, how to answer the server's option
// negotiation, and what the server confirmed. Fed by telnet::Decoder's events; writes only bytes.
//
// Negotiation follows RFC 1143's rule against loops: a request that would change nothing is not
// answered, options we do not support are refused (each WILL gets a DONT, each DO a WONT), and
// refusals are never answered.

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/serial/remote_port.hpp"
#include "gateway/serial/telnet_codec.hpp"

namespace loopgate {

// The line settings asked for (the port's baud, data_bits, parity, stop_bits, flow_control).
struct ComPortRequest {
    std::uint32_t baud = 9600;
    unsigned data_bits = 8;
    std::string parity = "none";        // none | odd | even
    double stop_bits = 1;               // 1 | 1.5 | 2
    std::string flow_control = "none";  // none | software | hardware
};

// RFC 2217's command codes, client to server; the server answers with the code plus 100.
namespace com_port {
inline constexpr std::uint8_t signature = 0;
inline constexpr std::uint8_t set_baudrate = 1;
inline constexpr std::uint8_t set_datasize = 2;
inline constexpr std::uint8_t set_parity = 3;
inline constexpr std::uint8_t set_stopsize = 4;
inline constexpr std::uint8_t set_control = 5;
inline constexpr std::uint8_t notify_linestate = 6;
inline constexpr std::uint8_t notify_modemstate = 7;
inline constexpr std::uint8_t flowcontrol_suspend = 8;
inline constexpr std::uint8_t flowcontrol_resume = 9;
inline constexpr std::uint8_t server_offset = 100;
}  // namespace com_port

class Rfc2217Client {
public:
    explicit Rfc2217Client(ComPortRequest request) : request_(std::move(request)) {}

    // A new connection: forgets the last one's state and appends the opening negotiation (WILL
    // COM-PORT-OPTION, binary both ways, no go-ahead). The settings follow the server's DO.
    void start(std::vector<std::uint8_t>& out);
    // One event from the decoder; answers, if any, are appended to `out`.
    void on_event(const telnet::Event& event, std::vector<std::uint8_t>& out);

    const RemotePortState& confirmed() const { return confirmed_; }
    // Whether the server answered every setting asked for.
    bool all_confirmed() const;
    // "parity: asked even, the server reports none", one per setting the server answered otherwise.
    std::vector<std::string> differences() const;
    // The server asked us to hold data (FLOWCONTROL-SUSPEND) and has not released it yet.
    bool suspended() const { return suspended_; }
    // Subnegotiations too short for their command, and COM-PORT answers that make no sense.
    std::uint64_t malformed() const { return malformed_; }

    // The settings commands alone (SET-BAUDRATE ... SET-CONTROL), for tests and for start().
    void append_settings(std::vector<std::uint8_t>& out) const;

private:
    void on_com_port(const std::vector<std::uint8_t>& payload);

    ComPortRequest request_;
    RemotePortState confirmed_;
    bool settings_sent_ = false;
    bool suspended_ = false;
    std::uint64_t malformed_ = 0;
};

}  // namespace loopgate
