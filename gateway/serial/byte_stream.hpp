#pragma once
// What a port's driver talks through: a serial line, a raw TCP connection to a serial device server,
// or an RFC 2217 (Telnet COM-PORT-OPTION) connection to one. The port session drives all three the
// same way, so drivers, framing and timing rules do not know which it is.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "gateway/config.hpp"
#include "gateway/serial/remote_port.hpp"

namespace loopgate {

class ByteStream {
public:
    using Opened = std::function<void(const std::string& error)>;  // empty: open
    using Done = std::function<void(const boost::system::error_code&, std::size_t bytes)>;

    virtual ~ByteStream() = default;

    // Opens the device or connects to the server. `done` runs on the event loop, once, unless
    // close() comes first; a network connect gives up after ports[].network.connect_timeout.
    virtual void open(Opened done) = 0;
    // Ends whatever is under way; completions of cancelled operations may still arrive (the session
    // ignores them by generation).
    virtual void close() = 0;
    virtual bool is_open() const = 0;

    virtual void read_some(std::uint8_t* into, std::size_t size, Done done) = 0;
    // What has already arrived, without waiting; only after a read completed. Errors are left for
    // the next read_some to report.
    virtual std::size_t read_ready(std::uint8_t* into, std::size_t size) = 0;
    // All of `bytes`, then `done`; one write at a time.
    virtual void write(std::vector<std::uint8_t> bytes, Done done) = 0;

    // Where the bytes go, for logs and status: the device node a link led to, or the peer address.
    virtual const std::string& resolved_path() const = 0;
    virtual bool is_network() const { return false; }
    // What an RFC 2217 server confirmed of the line settings asked for; empty for the others.
    virtual const RemotePortState& remote_port() const;
};

std::unique_ptr<ByteStream> make_byte_stream(boost::asio::io_context& io, const PortConfig& config);

}  // namespace loopgate
