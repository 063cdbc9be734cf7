#pragma once
// Modbus TCP as a master's framing (drivers/modbus/master_framing.hpp): MBAP-framed requests,
// several in flight, answers paired by transaction id.

#include <memory>

#include "drivers/modbus/master_framing.hpp"

namespace loopgate::modbus {

std::unique_ptr<MasterFraming> make_tcp_framing(std::size_t max_in_flight);

}  // namespace loopgate::modbus
