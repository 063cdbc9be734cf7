#pragma once
// The line settings an RFC 2217 server reported for its serial port, as status and logs show them.

#include <cstdint>
#include <optional>
#include <string>

namespace loopgate {

struct RemotePortState {
    bool com_port_option = false;  // the server agreed to the COM-PORT-OPTION
    bool refused = false;          // the server refused it: its port keeps its own settings
    std::optional<std::uint32_t> baud;
    std::optional<unsigned> data_bits;
    std::optional<std::string> parity;        // none, odd, even, mark, space
    std::optional<std::string> stop_bits;     // 1, 2, 1.5
    std::optional<std::string> flow_control;  // none, software, hardware
    // Telnet bytes that broke the protocol and COM-PORT answers that made no sense, since start:
    // a server that sends garbage shows here.
    std::uint64_t protocol_errors = 0;

    // {"com_port_option":true,"baud":19200,...}: only what the server said.
    std::string json() const;
    // "19200 baud, 8 data bits, parity none, 1 stop bit, flow control none" (what is known).
    std::string text() const;
};

}  // namespace loopgate
