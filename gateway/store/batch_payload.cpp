#include "gateway/store/batch_payload.hpp"

namespace loopgate {

void to_proto(const Reading& r, v1::Reading& out) {
    out.set_device(r.device);
    out.set_metric(r.metric);
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, double>) out.set_double_value(v);
            else if constexpr (std::is_same_v<T, std::int64_t>) out.set_int_value(v);
            else if constexpr (std::is_same_v<T, bool>) out.set_bool_value(v);
            else out.set_string_value(v);
        },
        r.value);
    out.set_unit(r.unit);
    out.set_quality(r.quality == Quality::good        ? v1::QUALITY_GOOD
                    : r.quality == Quality::uncertain ? v1::QUALITY_UNCERTAIN
                                                      : v1::QUALITY_BAD);
    out.set_quality_reason(r.quality_reason);
    if (r.source_time_ns) out.set_source_time_ns(*r.source_time_ns);
    out.set_receive_time_ns(r.receive_time_ns);
    out.set_sequence(r.sequence);
}

Reading from_proto(const v1::Reading& p) {
    Reading r;
    r.device = p.device();
    r.metric = p.metric();
    switch (p.value_case()) {
        case v1::Reading::kDoubleValue: r.value = p.double_value(); break;
        case v1::Reading::kIntValue: r.value = static_cast<std::int64_t>(p.int_value()); break;
        case v1::Reading::kBoolValue: r.value = p.bool_value(); break;
        case v1::Reading::kStringValue: r.value = p.string_value(); break;
        case v1::Reading::VALUE_NOT_SET: r.value = std::string(); break;
    }
    r.unit = p.unit();
    r.quality = p.quality() == v1::QUALITY_GOOD        ? Quality::good
                : p.quality() == v1::QUALITY_UNCERTAIN ? Quality::uncertain
                                                       : Quality::bad;
    r.quality_reason = p.quality_reason();
    if (p.source_time_ns() != 0) r.source_time_ns = p.source_time_ns();
    r.receive_time_ns = p.receive_time_ns();
    r.sequence = p.sequence();
    return r;
}

std::string encode_batch(const std::string& gateway_id, std::uint64_t batch_sequence, std::int64_t created_ns,
                         const std::vector<Reading>& readings) {
    v1::Batch batch;
    batch.set_gateway_id(gateway_id);
    batch.set_batch_sequence(batch_sequence);
    batch.set_created_time_ns(created_ns);
    batch.mutable_readings()->Reserve(static_cast<int>(readings.size()));
    for (const Reading& r : readings) to_proto(r, *batch.add_readings());
    return batch.SerializeAsString();
}

std::string encode_batch_header(const std::string& gateway_id, std::uint64_t batch_sequence, std::int64_t created_ns) {
    return encode_batch(gateway_id, batch_sequence, created_ns, {});
}

std::string encode_readings(std::span<const Reading> readings) {
    // One message per thread, cleared instead of destroyed: Clear() keeps the repeated field's
    // elements and their strings' capacity, so a steady flow encodes without allocating (a fresh
    // Batch cost a malloc and a free per string field, a fifth of the event loop's instructions).
    thread_local v1::Batch part;
    part.Clear();
    part.mutable_readings()->Reserve(static_cast<int>(readings.size()));
    for (const Reading& r : readings) to_proto(r, *part.add_readings());
    std::string out = part.SerializeAsString();
    // An unusually large batch (a backlog replayed in one go) is not kept for the rest of the run.
    if (out.size() > (1u << 20)) part = v1::Batch();
    return out;
}

std::string mark_historical(const std::string& payload) {
    // Field 3 (historical), wire type 0 (varint): tag byte (3 << 3) | 0 = 0x18, value 1.
    std::string out = payload;
    out.push_back(static_cast<char>(0x18));
    out.push_back(static_cast<char>(0x01));
    return out;
}

std::optional<std::string> correct_receive_times(std::string_view part, std::string_view flagged, std::int64_t step_ns,
                                                 const std::string& corrected) {
    v1::Batch batch;
    if (!batch.ParseFromArray(part.data(), static_cast<int>(part.size()))) return std::nullopt;
    bool changed = false;
    for (auto& r : *batch.mutable_readings()) {
        if (r.quality_reason() != flagged) continue;
        r.set_receive_time_ns(r.receive_time_ns() + step_ns);
        r.set_quality_reason(corrected);
        changed = true;
    }
    if (!changed) return std::nullopt;
    return batch.SerializeAsString();
}

std::size_t estimated_size(const Reading& r) {
    std::size_t value = std::holds_alternative<std::string>(r.value) ? std::get<std::string>(r.value).size() + 2 : 10;
    return 40 + r.device.size() + r.metric.size() + r.unit.size() + r.quality_reason.size() + value;
}

}  // namespace loopgate
