#pragma once
// UTF-8 decoding by the book, one sequence at a time: what makes a byte string well-formed UTF-8
// (Unicode 15, section 3.9, table 3-7). Overlong forms, surrogates (U+D800..U+DFFF) and code points
// above U+10FFFF are ill-formed. Used for the names the configuration puts into MQTT topics and client
// ids (MQTT strings must be UTF-8: core/topic_name) and for device text (drivers/text/sanitize_text).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loopgate {

// The sequence at `at` (< s.size()): its length and code point when well-formed; when ill-formed, the
// length of its maximal subpart (at least 1, the unit one U+FFFD replaces) and no code point.
struct Utf8Step {
    std::size_t length;
    bool well_formed;
    std::uint32_t code_point;
};
Utf8Step utf8_step(std::string_view s, std::size_t at);

// Well-formed UTF-8 (controls allowed).
bool valid_utf8(std::string_view text);

}  // namespace loopgate
