#pragma once
// A port's bytes over RFC 2217 (`path: rfc2217://host:port`): a TCP connection (TcpStream) carrying
// Telnet with the COM-PORT-OPTION. On each connect the server is asked to set its serial port to the
// port's baud, data bits, parity, stop bits and flow control; what it confirms is logged (once per
// change, with every setting it answered otherwise) and shown in status (`remote_port`).
//
// Data is escaped on the way out (0xFF doubled) and unescaped on the way in, commands and
// subnegotiations are taken out of the stream (reassembled across segments), and the server's
// FLOWCONTROL-SUSPEND holds data, never the negotiation, until it resumes.

#include <deque>

#include <boost/asio/steady_timer.hpp>

#include "gateway/serial/rfc2217_client.hpp"
#include "gateway/serial/tcp_stream.hpp"
#include "gateway/serial/telnet_codec.hpp"

namespace loopgate {

class Rfc2217Stream final : public ByteStream {
public:
    Rfc2217Stream(boost::asio::io_context& io, const PortConfig& config);

    void open(Opened done) override;
    void close() override;
    bool is_open() const override { return tcp_.is_open(); }
    void read_some(std::uint8_t* into, std::size_t size, Done done) override;
    std::size_t read_ready(std::uint8_t* into, std::size_t size) override;
    void write(std::vector<std::uint8_t> bytes, Done done) override;
    const std::string& resolved_path() const override { return tcp_.resolved_path(); }
    bool is_network() const override { return true; }
    const RemotePortState& remote_port() const override { return state_; }

private:
    struct Outgoing {
        std::vector<std::uint8_t> bytes;  // on the wire: escaped data, or negotiation
        std::size_t data_size = 0;        // the caller's bytes, for its completion
        Done done;                        // none for the negotiation
    };
    // Takes the Telnet layer out of `n` received bytes at `at`; returns the data bytes left there.
    std::size_t absorb(std::uint8_t* at, std::size_t n);
    void send_control(std::vector<std::uint8_t> bytes);
    void pump();
    void report_confirmation(bool final);

    const PortConfig& config_;
    TcpStream tcp_;
    boost::asio::steady_timer confirm_timer_;
    telnet::Decoder decoder_;
    Rfc2217Client client_;
    RemotePortState state_;
    std::vector<telnet::Event> events_;
    std::deque<Outgoing> outbox_;
    bool sending_ = false;
    bool reported_ = false;           // this connection's confirmation is logged
    std::string last_report_;         // what was logged last, so a reconnect that changes nothing is quiet
    std::uint64_t connection_ = 0;    // bumped by open and close: stale completions do nothing
};

}  // namespace loopgate
