#include "gateway/serial/telnet_codec.hpp"

namespace loopgate::telnet {

void Decoder::reset() {
    state_ = State::data;
    sb_payload_.clear();
    sb_overflow_ = false;
}

std::size_t Decoder::decode(std::span<std::uint8_t> bytes, std::vector<Event>& events) {
    std::size_t data = 0;
    for (std::uint8_t b : bytes) {
        switch (state_) {
            case State::data:
                if (b == IAC)
                    state_ = State::iac;
                else
                    bytes[data++] = b;
                break;
            case State::iac:
                if (b == IAC) {
                    bytes[data++] = IAC;  // an escaped data byte 255
                    state_ = State::data;
                } else if (b == SB) {
                    state_ = State::sb_option;
                } else if (b >= WILL) {
                    verb_ = b;
                    state_ = State::option;
                } else if (b > SE) {
                    events.push_back({Event::Kind::command, b, {}});  // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA
                    state_ = State::data;
                } else {
                    ++protocol_errors_;  // SE outside a subnegotiation, or no command at all
                    state_ = State::data;
                }
                break;
            case State::option: {
                Event::Kind kind = verb_ == WILL   ? Event::Kind::will
                                   : verb_ == WONT ? Event::Kind::wont
                                   : verb_ == DO   ? Event::Kind::do_
                                                   : Event::Kind::dont;
                events.push_back({kind, b, {}});
                state_ = State::data;
                break;
            }
            case State::sb_option:
                sb_option_ = b;
                sb_payload_.clear();
                sb_overflow_ = false;
                state_ = State::sb_data;
                break;
            case State::sb_data:
                if (b == IAC) {
                    state_ = State::sb_iac;
                } else if (sb_payload_.size() < max_subnegotiation) {
                    sb_payload_.push_back(b);
                } else {
                    sb_overflow_ = true;
                }
                break;
            case State::sb_iac:
                if (b == IAC) {
                    if (sb_payload_.size() < max_subnegotiation)
                        sb_payload_.push_back(IAC);
                    else
                        sb_overflow_ = true;
                    state_ = State::sb_data;
                } else if (b == SE) {
                    if (sb_overflow_)
                        ++protocol_errors_;
                    else
                        events.push_back({Event::Kind::subnegotiation, sb_option_, std::move(sb_payload_)});
                    sb_payload_.clear();
                    state_ = State::data;
                } else {
                    // IAC and anything but IAC or SE inside a subnegotiation: the subnegotiation is
                    // broken; drop it and read on as data, as most Telnet stacks do.
                    ++protocol_errors_;
                    sb_payload_.clear();
                    state_ = State::data;
                }
                break;
        }
    }
    return data;
}

void escape(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out) {
    out.reserve(out.size() + data.size());
    for (std::uint8_t b : data) {
        out.push_back(b);
        if (b == IAC) out.push_back(IAC);
    }
}

void negotiate(std::uint8_t verb, std::uint8_t option, std::vector<std::uint8_t>& out) {
    out.insert(out.end(), {IAC, verb, option});
}

void subnegotiate(std::uint8_t option, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
    out.insert(out.end(), {IAC, SB, option});
    escape(payload, out);
    out.insert(out.end(), {IAC, SE});
}

}  // namespace loopgate::telnet
