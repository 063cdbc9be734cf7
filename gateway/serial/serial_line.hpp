#pragma once
// Opening and configuring one serial line.
//
// I/O and line settings go through boost::asio::serial_port, which works on real ttys and on ptys
// (libserialport 0.1.1 cannot open ptys, nor /dev/serial/by-id links, so it is only used to list
// ports). Links are resolved with realpath() first so udev symlinks work.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>

#include "gateway/config.hpp"

namespace loopgate {

class SerialLine {
public:
    SerialLine(boost::asio::io_context& io, const PortConfig& config);

    // Opens and configures the line; throws boost::system::system_error with what failed.
    void open();
    void close();
    bool is_open() const { return port_.is_open(); }
    boost::asio::serial_port& port() { return port_; }
    const std::string& resolved_path() const { return resolved_; }

    // Software RS-485 direction control: drive RTS around a transmission.
    bool software_rts() const { return config_.rs485.mode == "rts"; }
    void set_rts(bool on);
    // Whether bytes written are still on their way out: in the kernel's output queue (`queued`
    // counts them) or in the UART's shift register, where the driver can tell (TIOCSERGETLSR).
    bool transmit_pending(std::size_t& queued) const;
    // One character's time on the wire at the configured baud rate and framing.
    std::chrono::nanoseconds char_time() const;

    // Reads whatever the kernel already holds, without waiting, into `into`; returns the count.
    // Only for use after an asynchronous read completed (the descriptor is non-blocking then). Errors
    // and end of file are left for the next asynchronous read to report.
    std::size_t read_ready(std::uint8_t* into, std::size_t size);

private:
    void configure_rs485();

    const PortConfig& config_;
    boost::asio::serial_port port_;
    std::string resolved_;
};

}  // namespace loopgate
