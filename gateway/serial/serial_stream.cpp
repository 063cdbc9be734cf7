#include "gateway/serial/serial_stream.hpp"

#include <memory>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace loopgate {

SerialStream::SerialStream(boost::asio::io_context& io, const PortConfig& config)
    : io_(io), line_(io, config), rts_writer_(io, line_, config.rs485) {}

void SerialStream::open(Opened done) {
    std::string error;
    try {
        line_.open();
    } catch (const boost::system::system_error& e) {
        error = e.what();
    }
    boost::asio::post(io_, [done = std::move(done), error = std::move(error)] { done(error); });
}

void SerialStream::close() {
    rts_writer_.cancel();
    line_.close();
}

void SerialStream::read_some(std::uint8_t* into, std::size_t size, Done done) {
    line_.port().async_read_some(boost::asio::buffer(into, size), std::move(done));
}

void SerialStream::write(std::vector<std::uint8_t> bytes, Done done) {
    if (line_.software_rts()) {
        rts_writer_.write(std::move(bytes), std::move(done));
        return;
    }
    // The frame lives in the completion, so a write cut short by a close never outlives its bytes.
    auto frame = std::make_shared<std::vector<std::uint8_t>>(std::move(bytes));
    boost::asio::async_write(line_.port(), boost::asio::buffer(*frame),
                             [frame, done = std::move(done)](const boost::system::error_code& ec, std::size_t n) {
                                 done(ec, n);
                             });
}

}  // namespace loopgate
