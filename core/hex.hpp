#pragma once
// Bytes as lowercase hexadecimal, two digits a byte in the order given ("\x00\xff\x10" -> "00ff10"),
// and back. The one copy: key ids and SHA-256 digests (gateway/security), the replay journal's ids
// (gateway/downlink/replay_journal), the byte escapes of untrusted_text. (M-Bus numbers are written
// most significant byte first in uppercase, as libmbus shows them: drivers/mbus keeps that rule.)

#include <string>
#include <string_view>

namespace loopgate {

std::string hex(std::string_view bytes);
// Appends hex(bytes) to `out`, for callers that build a longer text.
void append_hex(std::string& out, std::string_view bytes);
// The bytes `text` spells in lowercase hex; false (and `out` unspecified) on an odd length or any
// other character, uppercase digits included: hex() never writes those.
bool unhex(std::string_view text, std::string& out);

}  // namespace loopgate
