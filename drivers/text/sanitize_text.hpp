#pragma once
// Text from a device, made fit for a protobuf `string` field: well-formed UTF-8 without control
// characters. Devices send what they like (line noise, Latin-1, a cut multi-byte sequence, terminal
// escapes); one ill-formed byte in a `string` field makes conforming parsers refuse the whole batch.
//
// Ill-formed sequences become U+FFFD following the Unicode "maximal subpart" practice (Unicode 15,
// section 3.9, U+FFFD substitution; the WHATWG Encoding Standard's UTF-8 decoder does the same):
// each maximal prefix of a well-formed sequence, or each byte that starts none, gives one U+FFFD.
// Overlong forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF are ill-formed.
// Control characters (Unicode category Cc: C0 except TAB, DEL, C1 U+0080..U+009F) become U+FFFD
// too: ESC or BEL in a value would act on every terminal and log viewer that shows it.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/utf8.hpp"  // valid_utf8

namespace loopgate {

// Well-formed UTF-8 with no control character but TAB: what sanitize_text leaves unchanged.
bool clean_text(std::string_view text);

// Rewrites `text` in place as described above; returns how many U+FFFD it put in.
std::size_t sanitize_text(std::string& text);

}  // namespace loopgate
