#include "drivers/nmea0183/ais_reassembly.hpp"

#include <algorithm>

namespace loopgate::nmea::ais {

namespace {

std::optional<unsigned> digit(std::string_view f, unsigned low, unsigned high) {
    if (f.size() != 1 || f[0] < '0' || f[0] > '9') return std::nullopt;
    const unsigned v = static_cast<unsigned>(f[0] - '0');
    if (v < low || v > high) return std::nullopt;
    return v;
}

std::string key_of(const Fragment& f) {
    std::string key(f.address);
    key += ',';
    key += f.channel;
    key += ',';
    key += f.sequence;
    return key;
}

}  // namespace

bool is_ais_sentence(const Sentence& s) { return !s.proprietary && (s.type == "VDM" || s.type == "VDO"); }

std::optional<Fragment> parse_fragment(const Sentence& s) {
    // count, number, sequential id, channel, payload, fill bits
    if (s.field_count() < 5) return std::nullopt;
    Fragment f;
    f.address = s.address;
    auto count = digit(s.field(1), 1, 9);
    if (!count) return std::nullopt;
    auto number = digit(s.field(2), 1, *count);
    if (!number) return std::nullopt;
    f.count = *count;
    f.number = *number;
    f.sequence = s.field(3);
    f.channel = s.field(4);
    if (f.sequence.size() > 1 || f.channel.size() > 1) return std::nullopt;
    f.payload = s.field(5);
    if (f.payload.empty() || f.payload.size() > Reassembler::max_payload_chars) return std::nullopt;
    // Some talkers leave the fill empty on fragments that end on a character boundary.
    if (s.field(6).empty()) {
        f.fill_bits = 0;
    } else {
        auto fill = digit(s.field(6), 0, 5);
        if (!fill) return std::nullopt;
        f.fill_bits = *fill;
    }
    return f;
}

std::optional<Payload> Reassembler::add(const Fragment& f) {
    if (f.count == 1) return Payload{f.payload, f.fill_bits};

    const std::string key = key_of(f);
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.key == key; });
    if (f.number == 1) {
        if (it != pending_.end()) {  // its earlier message never finished
            ++dropped_;
            pending_.erase(it);
        }
        if (pending_.size() >= max_in_progress_) {
            auto oldest = std::min_element(pending_.begin(), pending_.end(),
                                           [](const Pending& a, const Pending& b) { return a.started < b.started; });
            ++dropped_;
            pending_.erase(oldest);
        }
        Pending p;
        p.key = key;
        p.count = f.count;
        p.next = 2;
        p.payload.assign(f.payload);
        p.started = ++started_;
        pending_.push_back(std::move(p));
        return std::nullopt;
    }
    if (it == pending_.end()) {  // its first fragment was lost (or dropped)
        ++dropped_;
        return std::nullopt;
    }
    if (it->count != f.count || it->next != f.number ||
        it->payload.size() + f.payload.size() > max_payload_chars) {
        ++dropped_;
        pending_.erase(it);
        return std::nullopt;
    }
    it->payload.append(f.payload);
    if (f.number < f.count) {
        ++it->next;
        return std::nullopt;
    }
    complete_ = std::move(it->payload);
    pending_.erase(it);
    return Payload{complete_, f.fill_bits};
}

void Reassembler::reset() {
    dropped_ += pending_.size();
    pending_.clear();
}

}  // namespace loopgate::nmea::ais
