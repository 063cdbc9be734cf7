// libFuzzer target: the head of an HTTP request as the status page's server parses it
// (gateway/ops/http_request_head.hpp), then the login header it carries. A complete head must parse
// the same from exactly its own bytes (what follows it belongs to the next request), its path is its
// target up to '?', and nothing but a complete head stays under the size limit undecided.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/ops/basic_auth.hpp"
#include "gateway/ops/http_request_head.hpp"

using namespace loopgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    RequestHeadParse parsed = parse_request_head(input);
    switch (parsed.status) {
        case RequestHeadStatus::incomplete:
            if (size >= max_request_head_bytes) std::abort();
            break;
        case RequestHeadStatus::complete: {
            const RequestHead& head = parsed.head;
            if (head.bytes == 0 || head.bytes > size) std::abort();
            if (head.target.compare(0, head.path.size(), head.path) != 0 || head.path.find('?') != std::string::npos)
                std::abort();
            RequestHeadParse again = parse_request_head(input.substr(0, head.bytes));
            if (again.status != RequestHeadStatus::complete || again.head.bytes != head.bytes ||
                again.head.target != head.target || again.head.authorization != head.authorization ||
                again.head.keep_alive != head.keep_alive || again.head.get != head.get)
                std::abort();
            if (auto c = parse_basic_authorization(head.authorization))
                if (c->user.empty()) std::abort();
            break;
        }
        case RequestHeadStatus::malformed:
        case RequestHeadStatus::too_large:
            break;
    }
    return 0;
}
