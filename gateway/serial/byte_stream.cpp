#include "gateway/serial/byte_stream.hpp"

#include "gateway/serial/rfc2217_stream.hpp"
#include "gateway/serial/serial_stream.hpp"
#include "gateway/serial/tcp_stream.hpp"

namespace loopgate {

const RemotePortState& ByteStream::remote_port() const {
    static const RemotePortState none;
    return none;
}

std::unique_ptr<ByteStream> make_byte_stream(boost::asio::io_context& io, const PortConfig& config) {
    if (!config.endpoint) return std::make_unique<SerialStream>(io, config);
    if (config.endpoint->scheme == "rfc2217") return std::make_unique<Rfc2217Stream>(io, config);
    return std::make_unique<TcpStream>(io, config);
}

}  // namespace loopgate
