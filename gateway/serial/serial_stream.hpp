#pragma once
// A port's bytes over a local serial line (SerialLine), with software RS-485 direction control
// around each write when the port asks for it (RtsWriter).

#include "gateway/serial/byte_stream.hpp"
#include "gateway/serial/rts_writer.hpp"
#include "gateway/serial/serial_line.hpp"

namespace loopgate {

class SerialStream final : public ByteStream {
public:
    SerialStream(boost::asio::io_context& io, const PortConfig& config);

    void open(Opened done) override;
    void close() override;
    bool is_open() const override { return line_.is_open(); }
    void read_some(std::uint8_t* into, std::size_t size, Done done) override;
    std::size_t read_ready(std::uint8_t* into, std::size_t size) override { return line_.read_ready(into, size); }
    void write(std::vector<std::uint8_t> bytes, Done done) override;
    const std::string& resolved_path() const override { return line_.resolved_path(); }

private:
    boost::asio::io_context& io_;
    SerialLine line_;
    RtsWriter rts_writer_;
};

}  // namespace loopgate
