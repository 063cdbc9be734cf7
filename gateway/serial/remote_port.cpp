#include "gateway/serial/remote_port.hpp"

namespace loopgate {

std::string RemotePortState::json() const {
    std::string out = std::string("{\"com_port_option\":") + (com_port_option ? "true" : "false");
    if (refused) out += ",\"refused\":true";
    if (baud) out += ",\"baud\":" + std::to_string(*baud);
    if (data_bits) out += ",\"data_bits\":" + std::to_string(*data_bits);
    // The words below are the codec's own (never the server's text), so they need no escaping.
    if (parity) out += ",\"parity\":\"" + *parity + "\"";
    if (stop_bits) out += ",\"stop_bits\":\"" + *stop_bits + "\"";
    if (flow_control) out += ",\"flow_control\":\"" + *flow_control + "\"";
    out += ",\"protocol_errors\":" + std::to_string(protocol_errors);
    return out + "}";
}

std::string RemotePortState::text() const {
    std::string out;
    auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
    if (baud) add(std::to_string(*baud) + " baud");
    if (data_bits) add(std::to_string(*data_bits) + " data bits");
    if (parity) add("parity " + *parity);
    if (stop_bits) add(*stop_bits + (*stop_bits == "1" ? " stop bit" : " stop bits"));
    if (flow_control) add("flow control " + *flow_control);
    return out.empty() ? "nothing" : out;
}

}  // namespace loopgate
