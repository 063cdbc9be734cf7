#include "gateway/ops/http_request_head.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace loopgate {

namespace http = boost::beast::http;

RequestHeadParse parse_request_head(std::string_view received) {
    RequestHeadParse out;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(max_request_head_bytes));
    parser.body_limit(0);  // GET only: a request that announces a body is refused
    parser.eager(true);
    boost::beast::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done()) {
        std::size_t n = parser.put(boost::asio::buffer(received.data() + used, received.size() - used), ec);
        used += n;
        if (ec == http::error::need_more) {
            out.status = received.size() >= max_request_head_bytes ? RequestHeadStatus::too_large
                                                                    : RequestHeadStatus::incomplete;
            return out;
        }
        if (ec == http::error::header_limit) {
            out.status = RequestHeadStatus::too_large;
            return out;
        }
        if (ec) {
            out.status = RequestHeadStatus::malformed;
            return out;
        }
        if (n == 0 && !parser.is_done()) {  // no progress without an error: treat as needing more
            out.status = RequestHeadStatus::incomplete;
            return out;
        }
    }
    const auto& request = parser.get();
    out.status = RequestHeadStatus::complete;
    out.head.get = request.method() == http::verb::get;
    out.head.target.assign(request.target().data(), request.target().size());
    out.head.path = out.head.target.substr(0, out.head.target.find('?'));
    auto authorization = request[http::field::authorization];
    out.head.authorization.assign(authorization.data(), authorization.size());
    out.head.keep_alive = request.keep_alive();
    out.head.bytes = used;
    return out;
}

}  // namespace loopgate
