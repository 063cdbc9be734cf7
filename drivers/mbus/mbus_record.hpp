#pragma once
// EN 13757-3 application layer: the user data of an RSP_UD long frame (CI 72h variable data with
// long header, 7Ah short header, 78h no header, 73h fixed data, 70h application error) decoded into
// records. Pure functions over bytes: no I/O, no clock. A malformed record rejects the whole
// telegram; nothing half-read comes out.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/reading.hpp"
#include "drivers/mbus/mbus_vif.hpp"

namespace loopgate::mbus {

struct Header {
    bool has_id = false;        // CI 7Ah and 78h carry no identification
    std::string id;             // identification number, 8 digits, most significant first
    std::string manufacturer;   // three letters (EN 13757-3 / FLAG association), "" without header
    std::uint8_t version = 0;
    std::uint8_t medium = 0;
    std::uint8_t access_number = 0;
    std::uint8_t status = 0;
};

enum class Function { instantaneous, maximum, minimum, error_state };

struct Record {
    std::uint64_t storage = 0;
    std::uint32_t tariff = 0;
    std::uint32_t subunit = 0;
    Function function = Function::instantaneous;
    VifMeaning meaning;        // metric, unit, kind after every VIFE
    std::optional<Value> value;  // none: no data (DIF data field 0 or 8), or nothing a reading can hold
    bool numeric = false;      // value is a number in meaning.unit (or an identifier number)
    std::string invalid;       // why the value cannot be trusted (BCD error digits, a record error VIFE)
};

struct Telegram {
    std::uint8_t ci = 0;
    Header header;
    std::vector<Record> records;
    bool more_records_follow = false;     // DIF 1Fh: the meter has another telegram
    std::size_t manufacturer_bytes = 0;   // after DIF 0Fh/1Fh: counted, not decoded
    std::size_t manufacturer_records = 0; // records whose VIF is manufacturer specific (7Fh): no reading
    std::size_t manufacturer_vife_records = 0;  // records with manufacturer VIFEs (after VIFE 7Fh)
    std::optional<std::uint8_t> application_error;  // CI 70h: the meter's error code
};

struct DecodeResult {
    std::optional<Telegram> telegram;
    std::string error;  // why not, when no telegram
};

// Decodes the CI field and the data after it (Frame::ci, Frame::data of a long frame).
DecodeResult decode_user_data(std::uint8_t ci, std::span<const std::uint8_t> data);

// The identification number's BCD bytes (least significant first) as 8 characters, most significant
// digit first; a nibble above 9 is written as an uppercase hex digit.
std::string id_digits(std::span<const std::uint8_t> bcd);
// The manufacturer field (2 bytes, little endian) as its three letters.
std::string manufacturer_code(std::uint16_t field);
// The medium byte of the header, in words ("heat (outlet)", "water", ...).
const char* medium_name(std::uint8_t medium);

}  // namespace loopgate::mbus
