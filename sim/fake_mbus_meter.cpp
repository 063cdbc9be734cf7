#include "sim/fake_mbus_meter.hpp"

#include <cmath>
#include <cstdio>

#include "drivers/mbus/mbus_frame.hpp"
#include "drivers/mbus/mbus_record.hpp"

namespace loopgate::commands {

namespace {

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_bcd(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
        out.push_back(static_cast<std::uint8_t>((v / 10 % 10) << 4 | v % 10));
        v /= 100;
    }
}

}  // namespace

FakeMbusMeter::FakeMbusMeter(std::uint8_t address) : address_(address) {
    char id[9];
    std::snprintf(id, sizeof id, "%08u", 71000000u + address);
    id_ = id;
}

std::vector<std::uint8_t> FakeMbusMeter::telegram(int index, double t) const {
    std::vector<std::uint8_t> d;
    put_bcd(d, std::stoull(id_), 4);
    put_le(d, 0x2C2D, 2);  // manufacturer "KAM" as a stand-in
    d.push_back(0x01);     // version
    d.push_back(0x04);     // medium: heat (outlet)
    d.push_back(static_cast<std::uint8_t>(index));  // access number
    d.push_back(0x00);     // status
    put_le(d, 0, 2);       // signature
    const double hours = t / 3600.0;
    if (index == 0) {
        d.insert(d.end(), {0x04, 0x06});  // energy, kWh, int32
        put_le(d, static_cast<std::uint64_t>(12345 + hours * 2.5), 4);
        d.insert(d.end(), {0x0C, 0x14});  // volume, 0.01 m3, BCD8
        put_bcd(d, static_cast<std::uint64_t>(56108 + hours * 10), 4);
        d.insert(d.end(), {0x02, 0x59});  // flow temperature, 0.01 degC
        put_le(d, static_cast<std::uint64_t>(7000 + 300 * std::sin(t / 60)), 2);
        d.insert(d.end(), {0x02, 0x5D});  // return temperature, 0.01 degC
        put_le(d, static_cast<std::uint64_t>(4500 + 200 * std::sin(t / 90)), 2);
        d.insert(d.end(), {0x04, 0x2B});  // power, W
        put_le(d, static_cast<std::uint64_t>(2500 + 500 * std::sin(t / 45)), 4);
        d.insert(d.end(), {0x04, 0x3B});  // volume flow, l/h
        put_le(d, static_cast<std::uint64_t>(400 + 50 * std::sin(t / 30)), 4);
        d.insert(d.end(), {0x0C, 0x78});  // fabrication number
        put_bcd(d, std::stoull(id_), 4);
        d.push_back(0x1F);  // more records follow
    } else {
        d.insert(d.end(), {0x44, 0x06});  // energy at the last billing date (storage 1), kWh
        put_le(d, 11000, 4);
        d.insert(d.end(), {0x42, 0x6C});  // that date: 2026-12-31 (type G)
        d.insert(d.end(), {0x5F, 0x3C});
        d.insert(d.end(), {0x0F, 0x01, 0x02, 0x03});  // manufacturer data, counted by the master
    }
    return mbus::build_long(mbus::kRspUd, address_, 0x72, d);
}

std::vector<std::uint8_t> FakeMbusMeter::feed(std::span<const std::uint8_t> bytes, double t) {
    std::vector<std::uint8_t> out;
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    std::size_t pos = 0;
    while (pos < pending_.size()) {
        auto b = std::span<const std::uint8_t>(pending_).subspan(pos);
        mbus::FrameScan scan = mbus::scan_frame(b);
        if (scan.status == mbus::FrameScan::need_more) break;
        if (scan.status == mbus::FrameScan::invalid) {
            ++pos;
            continue;
        }
        mbus::Frame f = mbus::parse_frame(b.first(scan.length));
        pos += scan.length;
        if (f.kind == mbus::FrameKind::long_frame && f.ci == mbus::kCiSelectSecondary && f.address == mbus::kAddressNetworkLayer &&
            f.data.size() >= 4) {
            std::string mask = mbus::id_digits(f.data.first(4));
            selected_ = true;
            for (std::size_t i = 0; i < 8; ++i) selected_ = selected_ && (mask[i] == 'F' || mask[i] == id_[i]);
            if (selected_) out.push_back(mbus::kAck);
            continue;
        }
        const bool mine = f.address == address_ || (f.address == mbus::kAddressNetworkLayer && selected_);
        if (f.kind != mbus::FrameKind::short_frame || !mine) continue;
        if (f.control == mbus::kSndNke) {
            next_ = 0;
            last_fcb_.reset();
            if (f.address == mbus::kAddressNetworkLayer) selected_ = false;
            out.push_back(mbus::kAck);
        } else if ((f.control & 0xDF) == mbus::kReqUd2) {
            bool fcb = f.control & mbus::kFcb;
            if (last_fcb_ && fcb != *last_fcb_) next_ = (next_ + 1) % 2;
            last_fcb_ = fcb;
            auto reply = telegram(next_, t);
            out.insert(out.end(), reply.begin(), reply.end());
        }
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pos));
    return out;
}

}  // namespace loopgate::commands
