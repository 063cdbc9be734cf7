#pragma once
// The head of an HTTP/1.x request as the status page's server reads it: remote input, so a pure
// function over the bytes received so far (Boost.Beast's parser, run over a buffer), table-tested and
// fuzzed (fuzz/fuzz_http_request.cpp). The server calls it after each read until it is complete.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loopgate {

enum class RequestHeadStatus {
    incomplete,  // no end of the head yet: read more (within the time the server allows)
    complete,    // `head` holds the request, which took `head.bytes` of the buffer
    malformed,   // not HTTP/1.x, or a request with a body: 400
    too_large,   // no end within max_request_head_bytes: 431
};

constexpr std::size_t max_request_head_bytes = 8 * 1024;

struct RequestHead {
    bool get = false;            // the method is GET (the server answers nothing else)
    std::string target;          // as sent, query included
    std::string path;            // the target up to '?'
    std::string authorization;   // the Authorization header, empty when absent
    bool keep_alive = false;     // HTTP/1.1 unless "Connection: close"; HTTP/1.0 with "keep-alive"
    std::size_t bytes = 0;       // the head's length in the buffer; a pipelined request follows it
};

struct RequestHeadParse {
    RequestHeadStatus status = RequestHeadStatus::incomplete;
    RequestHead head;
};

// `received` starts at the request's first byte.
RequestHeadParse parse_request_head(std::string_view received);

}  // namespace loopgate
