#include "gateway/serial/serial_line.hpp"

#include <fcntl.h>
#include <linux/serial.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace loopgate {

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
    throw boost::system::system_error(boost::system::error_code(err, boost::system::system_category()), what);
}

}  // namespace

SerialLine::SerialLine(boost::asio::io_context& io, const PortConfig& config) : config_(config), port_(io) {}

void SerialLine::open() {
    char real[PATH_MAX];
    if (!::realpath(config_.path.c_str(), real)) fail("cannot resolve " + config_.path, errno);
    resolved_ = real;

    boost::system::error_code ec;
    port_.open(resolved_, ec);
    if (ec) fail("cannot open " + resolved_, ec.value());
    using B = boost::asio::serial_port_base;
    try {
        port_.set_option(B::baud_rate(config_.baud));
        port_.set_option(B::character_size(config_.data_bits));
        port_.set_option(B::parity(config_.parity == "none"   ? B::parity::none
                                   : config_.parity == "even" ? B::parity::even
                                                              : B::parity::odd));
        port_.set_option(B::stop_bits(config_.stop_bits == 1   ? B::stop_bits::one
                                      : config_.stop_bits == 2 ? B::stop_bits::two
                                                               : B::stop_bits::onepointfive));
        port_.set_option(B::flow_control(config_.flow_control == "none"       ? B::flow_control::none
                                         : config_.flow_control == "software" ? B::flow_control::software
                                                                              : B::flow_control::hardware));
        configure_rs485();
    } catch (...) {
        port_.close(ec);
        throw;
    }
}

void SerialLine::configure_rs485() {
    const Rs485Config& r = config_.rs485;
    int fd = port_.native_handle();
    if (r.mode == "kernel") {
        serial_rs485 conf{};
        conf.flags = SER_RS485_ENABLED | (r.rts_on_send ? SER_RS485_RTS_ON_SEND : SER_RS485_RTS_AFTER_SEND);
        conf.delay_rts_before_send = static_cast<__u32>(r.delay_before_send_ms);
        conf.delay_rts_after_send = static_cast<__u32>(r.delay_after_send_ms);
        if (::ioctl(fd, TIOCSRS485, &conf) != 0)
            fail("the adapter of " + resolved_ +
                     " does not support the kernel's RS-485 mode (TIOCSRS485); set rs485.mode: rts for software "
                     "direction control, or off for adapters that switch direction themselves",
                 errno);
    } else if (r.mode == "rts") {
        int bits = 0;
        if (::ioctl(fd, TIOCMGET, &bits) != 0)
            fail("cannot control RTS on " + resolved_ +
                     " for software RS-485 direction control; use an adapter with automatic direction control "
                     "(rs485.mode: off) or kernel RS-485 support (rs485.mode: kernel)",
                 errno);
        set_rts(false);
    }
}

void SerialLine::set_rts(bool on) {
    int bit = TIOCM_RTS;
    ::ioctl(port_.native_handle(), on ? TIOCMBIS : TIOCMBIC, &bit);
}

bool SerialLine::transmit_pending(std::size_t& queued) const {
    // native_handle() is not const in asio; asking is.
    int fd = const_cast<boost::asio::serial_port&>(port_).native_handle();
    int outq = 0;
    queued = ::ioctl(fd, TIOCOUTQ, &outq) == 0 && outq > 0 ? static_cast<std::size_t>(outq) : 0;
    if (queued > 0) return true;
    unsigned int lsr = 0;
    // Ptys and some USB adapters cannot say (ENOTTY, EINVAL): an empty queue is all there is to know.
    if (::ioctl(fd, TIOCSERGETLSR, &lsr) != 0) return false;
    return (lsr & TIOCSER_TEMT) == 0;
}

std::chrono::nanoseconds SerialLine::char_time() const {
    // start bit, data bits, parity, stop bits (1.5 counted as 2: a little late is safe, early is not)
    int bits = 1 + config_.data_bits + (config_.parity == "none" ? 0 : 1) + (config_.stop_bits == 1 ? 1 : 2);
    unsigned baud = config_.baud > 0 ? static_cast<unsigned>(config_.baud) : 9600;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(bits) * 1'000'000'000 / baud);
}

void SerialLine::close() {
    boost::system::error_code ec;
    port_.close(ec);
}

std::size_t SerialLine::read_ready(std::uint8_t* into, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        ssize_t n = ::read(port_.native_handle(), into + got, size - got);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;  // EAGAIN: drained for now; 0 or an error: the next async read reports it
    }
    return got;
}

}  // namespace loopgate
