#pragma once
// One reading as one JSON line (decode output) or as a human-readable line (tail output).

#include <string>

#include "core/reading.hpp"

namespace loopgate {

std::string to_json_line(const Reading& r);
// The same JSON object appended to `out`: a stream of many readings builds no temporaries.
void append_json(std::string& out, const Reading& r);
std::string to_human_line(const Reading& r);
std::string json_escape(const std::string& s);
// A value as a person reads it (tail, log lines, errors): 42.25, -7, true, "text".
std::string value_text(const Value& v);

}  // namespace loopgate
