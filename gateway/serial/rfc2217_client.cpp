#include "gateway/serial/rfc2217_client.hpp"

namespace loopgate {

namespace {

using namespace telnet;

std::uint8_t parity_code(const std::string& parity) { return parity == "odd" ? 2 : parity == "even" ? 3 : 1; }
std::uint8_t stop_code(double stop_bits) { return stop_bits == 2 ? 2 : stop_bits == 1.5 ? 3 : 1; }
std::uint8_t flow_code(const std::string& flow) { return flow == "software" ? 2 : flow == "hardware" ? 3 : 1; }

std::string stop_text(double stop_bits) { return stop_bits == 2 ? "2" : stop_bits == 1.5 ? "1.5" : "1"; }

bool we_offer(std::uint8_t option) { return option == BINARY || option == SUPPRESS_GO_AHEAD || option == COM_PORT_OPTION; }
bool we_accept(std::uint8_t option) { return option == BINARY || option == SUPPRESS_GO_AHEAD; }

}  // namespace

void Rfc2217Client::start(std::vector<std::uint8_t>& out) {
    confirmed_ = {};
    settings_sent_ = false;
    suspended_ = false;
    negotiate(WILL, COM_PORT_OPTION, out);
    negotiate(WILL, BINARY, out);
    negotiate(DO, BINARY, out);
    negotiate(WILL, SUPPRESS_GO_AHEAD, out);
    negotiate(DO, SUPPRESS_GO_AHEAD, out);
}

void Rfc2217Client::append_settings(std::vector<std::uint8_t>& out) const {
    using namespace com_port;
    const std::uint32_t b = request_.baud;
    const std::uint8_t baud[] = {set_baudrate, static_cast<std::uint8_t>(b >> 24), static_cast<std::uint8_t>(b >> 16),
                                 static_cast<std::uint8_t>(b >> 8), static_cast<std::uint8_t>(b)};
    subnegotiate(COM_PORT_OPTION, baud, out);
    const std::uint8_t size[] = {set_datasize, static_cast<std::uint8_t>(request_.data_bits)};
    subnegotiate(COM_PORT_OPTION, size, out);
    const std::uint8_t parity[] = {set_parity, parity_code(request_.parity)};
    subnegotiate(COM_PORT_OPTION, parity, out);
    const std::uint8_t stop[] = {set_stopsize, stop_code(request_.stop_bits)};
    subnegotiate(COM_PORT_OPTION, stop, out);
    const std::uint8_t control[] = {set_control, flow_code(request_.flow_control)};
    subnegotiate(COM_PORT_OPTION, control, out);
}

void Rfc2217Client::on_event(const Event& e, std::vector<std::uint8_t>& out) {
    switch (e.kind) {
        case Event::Kind::do_:
            if (e.option == COM_PORT_OPTION && !settings_sent_) {
                // The server takes the option: now it hears the settings (RFC 2217 section 3).
                confirmed_.com_port_option = true;
                confirmed_.refused = false;
                settings_sent_ = true;
                append_settings(out);
            } else if (!we_offer(e.option)) {
                negotiate(WONT, e.option, out);
            }
            break;
        case Event::Kind::dont:
            if (e.option == COM_PORT_OPTION && !confirmed_.com_port_option) confirmed_.refused = true;
            break;
        case Event::Kind::will:
            if (!we_accept(e.option)) negotiate(DONT, e.option, out);
            break;
        case Event::Kind::wont:
        case Event::Kind::command:
            break;
        case Event::Kind::subnegotiation:
            if (e.option == COM_PORT_OPTION) on_com_port(e.payload);
            break;
    }
}

void Rfc2217Client::on_com_port(const std::vector<std::uint8_t>& p) {
    using namespace com_port;
    if (p.empty() || p[0] < server_offset) {
        ++malformed_;  // a client-to-server code (or nothing) from a server
        return;
    }
    const std::uint8_t code = static_cast<std::uint8_t>(p[0] - server_offset);
    auto value_bytes = p.size() - 1;
    switch (code) {
        case set_baudrate:
            if (value_bytes != 4) break;
            confirmed_.baud = std::uint32_t{p[1]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 8 | p[4];
            return;
        case set_datasize:
            if (value_bytes != 1 || p[1] < 5 || p[1] > 8) break;
            confirmed_.data_bits = p[1];
            return;
        case set_parity: {
            static const char* const names[] = {"none", "odd", "even", "mark", "space"};
            if (value_bytes != 1 || p[1] < 1 || p[1] > 5) break;
            confirmed_.parity = names[p[1] - 1];
            return;
        }
        case set_stopsize: {
            static const char* const names[] = {"1", "2", "1.5"};
            if (value_bytes != 1 || p[1] < 1 || p[1] > 3) break;
            confirmed_.stop_bits = names[p[1] - 1];
            return;
        }
        case set_control:
            if (value_bytes != 1) break;
            // Only answers about outbound flow control (1-3) are about what we asked; DTR, RTS and
            // inbound flow control states come with other codes.
            if (p[1] >= 1 && p[1] <= 3) {
                static const char* const names[] = {"none", "software", "hardware"};
                confirmed_.flow_control = names[p[1] - 1];
            }
            return;
        case flowcontrol_suspend:
            suspended_ = true;
            return;
        case flowcontrol_resume:
            suspended_ = false;
            return;
        default:
            return;  // signature, line and modem state notifications, masks, purge: nothing to act on
    }
    ++malformed_;
}

bool Rfc2217Client::all_confirmed() const {
    return confirmed_.baud && confirmed_.data_bits && confirmed_.parity && confirmed_.stop_bits &&
           confirmed_.flow_control;
}

std::vector<std::string> Rfc2217Client::differences() const {
    std::vector<std::string> out;
    auto differs = [&out](const char* what, const std::string& asked, const std::string& got) {
        if (asked != got) out.push_back(std::string(what) + ": asked " + asked + ", the server reports " + got);
    };
    if (confirmed_.baud) differs("baud", std::to_string(request_.baud), std::to_string(*confirmed_.baud));
    if (confirmed_.data_bits)
        differs("data bits", std::to_string(request_.data_bits), std::to_string(*confirmed_.data_bits));
    if (confirmed_.parity) differs("parity", request_.parity, *confirmed_.parity);
    if (confirmed_.stop_bits) differs("stop bits", stop_text(request_.stop_bits), *confirmed_.stop_bits);
    if (confirmed_.flow_control) differs("flow control", request_.flow_control, *confirmed_.flow_control);
    return out;
}

}  // namespace loopgate
