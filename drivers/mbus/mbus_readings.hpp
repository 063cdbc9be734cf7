#pragma once
// From decoded records to readings: metric names (VIF name, function, then _s<storage>, _t<tariff>,
// _u<subunit>), unique within a telegram, and the device name mbus-<identification number>.

#include <cstddef>
#include <string>
#include <vector>

#include "drivers/mbus/mbus_record.hpp"

namespace loopgate::mbus {

// Whether a record becomes a reading at all: it has a value whose meaning is known (manufacturer
// specific, "any VIF" and reserved codes do not).
bool reportable(const Record& r);

// The metric name of each record, parallel to t.records; "" for records that are not reportable.
std::vector<std::string> record_metrics(const Telegram& t);

// "mbus-12345678" for a telegram that names its meter; `fallback` for one that does not (CI 7Ah).
std::string device_name(const Telegram& t, const std::string& fallback);

// The record's value as a reading fills it: value, unit, quality (bad with the reason when the
// meter marks the value invalid).
void fill_reading(const Record& r, Reading& out);

}  // namespace loopgate::mbus
