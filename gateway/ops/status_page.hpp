#pragma once
// The status page itself (gateway/ops/web/index.html: HTML, CSS and script in one file, no external
// assets), compiled into the binary by CMake so the box serves it offline.

#include <string_view>

namespace loopgate {

std::string_view status_page_html();

}  // namespace loopgate
