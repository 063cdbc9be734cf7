#pragma once
// The Telnet layer of an RFC 2217 connection (RFC 854/855), sans I/O: data bytes out of a received
// stream, with the commands and subnegotiations between them, and data escaped for sending.
//
// The decoder keeps its state between calls, so a command or a subnegotiation split across TCP
// segments (down to one byte each) is reassembled. Bytes a server should never send (IAC followed by
// a byte that is no command, SE outside a subnegotiation, an overlong subnegotiation) are counted as
// protocol errors and dropped; nothing a server sends can make it grow without bound.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace loopgate::telnet {

inline constexpr std::uint8_t IAC = 255;
inline constexpr std::uint8_t DONT = 254;
inline constexpr std::uint8_t DO = 253;
inline constexpr std::uint8_t WONT = 252;
inline constexpr std::uint8_t WILL = 251;
inline constexpr std::uint8_t SB = 250;
inline constexpr std::uint8_t SE = 240;

// Options this client deals with.
inline constexpr std::uint8_t BINARY = 0;             // RFC 856: 8-bit data both ways
inline constexpr std::uint8_t SUPPRESS_GO_AHEAD = 3;  // RFC 858
inline constexpr std::uint8_t COM_PORT_OPTION = 44;   // RFC 2217

// A longer subnegotiation is none this client needs (RFC 2217's longest carries four bytes, a
// signature text is short); it is dropped and counted.
inline constexpr std::size_t max_subnegotiation = 256;

struct Event {
    enum class Kind { will, wont, do_, dont, subnegotiation, command };
    Kind kind;
    std::uint8_t option = 0;            // the option, or the command byte (NOP, BRK, ...) for `command`
    std::vector<std::uint8_t> payload;  // a subnegotiation's bytes after the option, unescaped
};

class Decoder {
public:
    // Decodes `bytes` in place: the data bytes are moved to the front (never more than came in) and
    // their count is returned; commands and subnegotiations are appended to `events` in order.
    std::size_t decode(std::span<std::uint8_t> bytes, std::vector<Event>& events);
    std::uint64_t protocol_errors() const { return protocol_errors_; }
    // Forgets a half-received command: a new connection starts clean.
    void reset();

private:
    enum class State { data, iac, option, sb_option, sb_data, sb_iac };
    State state_ = State::data;
    std::uint8_t verb_ = 0;
    std::uint8_t sb_option_ = 0;
    bool sb_overflow_ = false;
    std::vector<std::uint8_t> sb_payload_;
    std::uint64_t protocol_errors_ = 0;
};

// Appends `data` to `out` with every 0xFF doubled, as Telnet sends a data byte 255.
void escape(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out);
// Appends IAC <verb> <option>.
void negotiate(std::uint8_t verb, std::uint8_t option, std::vector<std::uint8_t>& out);
// Appends IAC SB <option> <payload, escaped> IAC SE.
void subnegotiate(std::uint8_t option, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);

}  // namespace loopgate::telnet
