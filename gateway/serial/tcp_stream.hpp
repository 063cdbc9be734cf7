#pragma once
// A port's bytes over a raw TCP connection to a serial device server (`path: tcp://host:port`):
// Moxa NPort in TCP server mode, Lantronix, USR-TCP232, ser2net's `accepter: tcp`.
//
// The connect runs on the event loop with a deadline (ports[].network.connect_timeout), so an
// unreachable host holds up nothing else. A connected socket has TCP keepalive (a dead peer or a
// pulled cable is noticed within about 25 s even on a port that only listens) and TCP_NODELAY (a
// Modbus request must leave at once, not wait for Nagle).

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/serial/byte_stream.hpp"

namespace loopgate {

class TcpStream final : public ByteStream {
public:
    TcpStream(boost::asio::io_context& io, const PortConfig& config);

    void open(Opened done) override;
    void close() override;
    bool is_open() const override { return connected_; }
    void read_some(std::uint8_t* into, std::size_t size, Done done) override;
    std::size_t read_ready(std::uint8_t* into, std::size_t size) override;
    void write(std::vector<std::uint8_t> bytes, Done done) override;
    const std::string& resolved_path() const override { return peer_; }
    bool is_network() const override { return true; }

private:
    using Finish = std::shared_ptr<Opened>;
    void connect(std::vector<boost::asio::ip::tcp::endpoint> endpoints, std::uint64_t attempt, Finish done);
    void finish(std::uint64_t attempt, const Finish& done, const std::string& error);
    void tune_socket();

    const PortConfig& config_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer deadline_;
    std::uint64_t attempt_ = 0;  // bumped by every open, finish and close: stale completions do nothing
    bool connected_ = false;
    std::string peer_;
    std::shared_ptr<int> life_ = std::make_shared<int>(0);  // expires with the stream (see open())
};

}  // namespace loopgate
