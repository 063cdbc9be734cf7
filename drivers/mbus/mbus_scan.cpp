#include "drivers/mbus/mbus_scan.hpp"

#include <algorithm>

#include "drivers/mbus/mbus_frame.hpp"

namespace loopgate::mbus {

namespace {

constexpr int kLastPrimary = 250;

std::optional<FoundMeter> header_of(const std::vector<std::uint8_t>& bytes) {
    FrameScan scan = scan_frame(bytes);
    if (scan.status != FrameScan::complete) return std::nullopt;
    Frame f = parse_frame(bytes);
    if (f.kind != FrameKind::long_frame || (f.control & 0xCF) != kRspUd) return std::nullopt;
    FoundMeter m;
    if ((f.ci == 0x72 || f.ci == 0x73) && f.data.size() >= 4) m.id = id_digits(f.data.first(4));
    if (f.ci == 0x72 && f.data.size() >= 8) {
        m.manufacturer = manufacturer_code(static_cast<std::uint16_t>(f.data[4] | f.data[5] << 8));
        m.version = f.data[6];
        m.medium = f.data[7];
    }
    return m;
}

}  // namespace

Scan::Scan(const BusTiming& timing, bool secondary, int retries) : timing_(timing), secondary_(secondary), retries_(retries) {}

Scan::Step Scan::start(SteadyTime now) {
    quiet_from_ = now + timing_.idle_gap;
    if (secondary_) {
        for (char d = '0'; d <= '9'; ++d) masks_.push_back(std::string(1, d) + "FFFFFFF");
    } else {
        address_ = -1;
    }
    next_probe();
    return advance(now);
}

void Scan::next_probe() {
    attempts_ = 0;
    pending_ = true;
    if (secondary_) {
        if (masks_.empty()) {
            done_ = true;
            pending_ = false;
            return;
        }
        mask_ = masks_.front();
        masks_.pop_front();
        ask_ = Ask::select;
    } else {
        if (++address_ > kLastPrimary) {
            done_ = true;
            pending_ = false;
            return;
        }
        ask_ = Ask::nke;
    }
}

Scan::Step Scan::advance(SteadyTime now) {
    if (done_) return Step{{}, now, true};
    if (awaiting_) return Step{{}, rx_.empty() ? deadline_ : std::min(deadline_, last_rx_ + timing_.frame_silence), false};
    if (pending_ && now < quiet_from_) return Step{{}, quiet_from_, false};
    return send(now);
}

Scan::Step Scan::send(SteadyTime now) {
    std::vector<std::uint8_t> bytes;
    const std::uint8_t address = secondary_ ? kAddressNetworkLayer : static_cast<std::uint8_t>(address_);
    switch (ask_) {
        case Ask::nke: bytes = build_short(kSndNke, address); break;
        case Ask::select: {
            char id[9];
            std::copy_n(mask_.c_str(), 9, id);
            bytes = build_select_secondary(id);
            break;
        }
        case Ask::request: bytes = build_short(kReqUd2 | kFcb, address); break;
    }
    pending_ = false;
    awaiting_ = true;
    ++attempts_;
    ++probes_;
    rx_.clear();
    deadline_ = now + timing_.char_time * static_cast<std::int64_t>(bytes.size()) + timing_.response_timeout;
    return Step{std::move(bytes), deadline_, false};
}

Scan::Step Scan::on_bytes(std::span<const std::uint8_t> bytes, SteadyTime now) {
    quiet_from_ = now + timing_.idle_gap;
    if (awaiting_) {
        rx_.insert(rx_.end(), bytes.begin(), bytes.end());
        last_rx_ = now;
        // A complete single frame needs no silence to be sure of: an acknowledgement or a telegram.
        FrameScan scan = scan_frame(rx_);
        if (scan.status == FrameScan::complete && scan.length == rx_.size() && ask_ != Ask::request) finish_exchange(now);
    }
    return advance(now);
}

Scan::Step Scan::on_timer(SteadyTime now) {
    if (awaiting_ && (now >= deadline_ || (!rx_.empty() && now >= last_rx_ + timing_.frame_silence))) finish_exchange(now);
    return advance(now);
}

void Scan::finish_exchange(SteadyTime now) {
    awaiting_ = false;
    quiet_from_ = std::max(quiet_from_, now + timing_.idle_gap);
    if (rx_.empty()) {
        if (attempts_ < 1 + retries_) {
            pending_ = true;  // asked again
            return;
        }
        if (ask_ == Ask::request && !secondary_) {
            found_.push_back(FoundMeter{static_cast<std::uint8_t>(address_), {}, {}, 0, 0, false});  // acknowledged, sent no data
        }
        next_probe();
        return;
    }
    FrameScan scan = scan_frame(rx_);
    answered(!(scan.status == FrameScan::complete && scan.length == rx_.size()));
}

void Scan::answered(bool garbled) {
    auto collision_here = [&] {
        FoundMeter m;
        if (!secondary_) m.address = static_cast<std::uint8_t>(address_);
        else m.id = mask_;
        m.collision = true;
        found_.push_back(m);
    };
    switch (ask_) {
        case Ask::nke:
            if (garbled || rx_[0] != kAck) {
                collision_here();
                next_probe();
                return;
            }
            ask_ = Ask::request;
            attempts_ = 0;
            pending_ = true;
            return;
        case Ask::select:
            // One meter or several selected (identical E5h bytes from several meters look like one):
            // the telegram tells.
            ask_ = Ask::request;
            attempts_ = 0;
            pending_ = true;
            return;
        case Ask::request: {
            auto m = garbled ? std::nullopt : header_of(rx_);
            if (m) {
                if (!secondary_) m->address = static_cast<std::uint8_t>(address_);
                found_.push_back(*m);
            } else if (!secondary_) {
                collision_here();
            } else {
                auto pos = mask_.find('F');
                if (pos == std::string::npos) {
                    collision_here();  // two meters with one identification number
                } else {
                    for (char d = '9'; d >= '0'; --d) {
                        std::string child = mask_;
                        child[pos] = d;
                        masks_.push_front(child);
                    }
                }
            }
            next_probe();
            return;
        }
    }
}

}  // namespace loopgate::mbus
