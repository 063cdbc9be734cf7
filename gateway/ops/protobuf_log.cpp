#include "gateway/ops/protobuf_log.hpp"

#include <string>

#include <google/protobuf/stubs/logging.h>

#include "core/log.hpp"

namespace loopgate {

namespace {

void to_gateway_log(google::protobuf::LogLevel level, const char*, int, const std::string& message) {
    // Source file and line of libprotobuf say nothing to an operator; the message names the field.
    switch (level) {
    case google::protobuf::LOGLEVEL_INFO: log::info("protobuf: ", message); break;
    case google::protobuf::LOGLEVEL_WARNING: log::warning("protobuf: ", message); break;
    default: log::error("protobuf: ", message); break;
    }
}

}  // namespace

void route_protobuf_logs() { google::protobuf::SetLogHandler(&to_gateway_log); }

}  // namespace loopgate
