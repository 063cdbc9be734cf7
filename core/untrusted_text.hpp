#pragma once
// Text that arrived from outside - a field of an MQTT payload (a config update's gateway_id, a
// command's id, device or point, a Sparkplug metric name), a topic level, an HTTP user name or path -
// wherever it is logged, shown on the status page or echoed in a reply. Its sender chooses it: a
// newline in it would forge whole log lines, an escape sequence would act on the terminal showing the
// journal, a byte that is not UTF-8 would make a reply's protobuf `string` field unparsable, and its
// length is the sender's choice too. So it goes through this one function, which
//   - keeps printable ASCII (0x20..0x7E) but the backslash, which becomes "\\";
//   - writes every other byte (controls, DEL, UTF-8 and ill-formed bytes alike) as "\xHH";
//   - shows at most `max_bytes` bytes of the input, and ends a longer one with "...(N bytes)".
// The result is printable ASCII (hence UTF-8), unambiguous (each escape decodes to one input byte),
// and at most 4 * max_bytes + 31 bytes long. Device text has its own, lossless cleaning
// (drivers/text/sanitize_text): a value is data, this is a name shown to a human.

#include <cstddef>
#include <string>
#include <string_view>

namespace loopgate {

// Enough for any name the gateway itself allows (topic names are at most 64 bytes) and to recognise
// what a sender tried.
constexpr std::size_t kUntrustedTextMax = 64;

std::string untrusted_text(std::string_view text, std::size_t max_bytes = kUntrustedTextMax);

}  // namespace loopgate
