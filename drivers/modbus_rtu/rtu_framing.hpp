#pragma once
// Modbus RTU as a master's framing (drivers/modbus/master_framing.hpp): unit + PDU + CRC, one
// request at a time, t3.5 silences. Frames are found in the stream by their length and CRC,
// however the bytes were split or coalesced on the way (a USB adapter, a device server).

#include <memory>

#include "drivers/modbus/master_framing.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"

namespace loopgate::modbus {

std::unique_ptr<MasterFraming> make_rtu_framing(rtu::Timing timing);

}  // namespace loopgate::modbus
