#pragma once
// The value information tables of EN 13757-3: what a VIF (primary table, the FBh and FDh extension
// tables) and the combinable VIFEs after it say about a record's value. Pure lookups.

#include <cstdint>
#include <string>

namespace loopgate::mbus {

// What kind of value a record carries once its VIB is read.
enum class VifKind {
    number,        // a measured or counted quantity: value * factor + offset, in `unit`
    identifier,    // a number that names something (fabrication number, version, flags): no unit
    time_point,    // a date (type G) or a date and time (types F, I, J)
    manufacturer,  // manufacturer specific meaning (VIF 7Fh/FFh, or VIFE FFh): counted, not decoded
    any,           // VIF 7Eh "any VIF": a readout request selector, no value
    reserved,      // a code the standard reserves: nobody can say what the value means
};

struct VifMeaning {
    VifKind kind = VifKind::reserved;
    std::string metric;        // snake_case name: "energy", "flow_temperature", ...
    std::string unit;          // base unit of the value after scaling: "Wh", "m3", "degC", "s", "" ...
    double factor = 1;         // raw value times factor ...
    double offset = 0;         // ... plus offset (additive correction VIFE), in `unit`
    bool record_error = false; // a VIFE said the record holds an error, not a value
    bool manufacturer_vifes = false;  // VIFE FFh seen: the VIFEs after it are the manufacturer's
    std::string error_text;    // what the record error code says
};

VifMeaning make_meaning(VifKind kind, std::string metric, std::string unit, double factor);

// The primary VIF, extension bit masked off (00h-7Fh; 7Bh, 7Ch and 7Dh are handled by the caller).
VifMeaning primary_vif(std::uint8_t vif);
// The first VIFE after FDh (table 14 of EN 13757-3:2013) and after FBh (table 12), extension bit masked off.
VifMeaning fd_vif(std::uint8_t code);
VifMeaning fb_vif(std::uint8_t code);
// Applies one combinable (orthogonal) VIFE, extension bit masked off, to the meaning so far. After
// VIFE 7Fh the following VIFEs are the manufacturer's: they are not decoded but named in the metric
// (_mfr<hex>), so that e.g. an electricity meter's per-phase powers stay apart.
void apply_combinable_vife(std::uint8_t vife, VifMeaning& m);

// 10^n for the small exponents the tables use (exact decimal literals, not pow()).
double pow10(int n);

}  // namespace loopgate::mbus
