#pragma once
// libprotobuf reports what it finds wrong in a payload (a string field that is not UTF-8, for one)
// by writing "[libprotobuf ERROR ...]" straight to stderr, once per payload. A broker client that
// sends garbage commands in a loop would flood the journal past the log's rate limit. This routes
// those messages through core/log.hpp instead, rate limit included.

namespace loopgate {

// Call once at startup, before any payload is parsed (protobuf's handler is not thread-safe to set).
void route_protobuf_logs();

}  // namespace loopgate
