#pragma once
// How a Modbus master's requests and answers travel: the one thing RTU and TCP do differently
// (drivers/modbus_rtu/rtu_framing.hpp, drivers/modbus_tcp/tcp_framing.hpp).
// libmodbus keeps a backend struct of framing functions apart from its PDU code; this is that
// struct for the master (modbus_master.hpp), which owns everything above it: the point map, the
// scheduler, retries, offline detection and writes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/modbus/modbus_pdu.hpp"

namespace loopgate::modbus {

// One frame a framing took out of the byte stream.
// A serial line's timing, as far as the master needs it: one character's time on the wire and the
// silence before a request.
struct SerialTiming {
    std::chrono::nanoseconds char_time{};
    std::chrono::nanoseconds silence{};
};

struct Received {
    // The transaction id the frame carries (Modbus TCP's MBAP header); RTU frames carry none and
    // belong to the one request on the wire.
    std::optional<std::uint16_t> transaction;
    std::optional<Response> response;  // empty: framed, but not a valid response
    std::string error;                 // why not ("bad CRC" is counted apart)
    std::size_t length = 0;            // bytes of the frame
};

class MasterFraming {
public:
    virtual ~MasterFraming() = default;

    // Requests on the wire at once: 1 on a serial line; up to max_in_flight on TCP.
    virtual std::size_t max_in_flight() const = 0;
    // Whether answers carry their request's transaction id (else an answer is the one in flight's).
    virtual bool tags_answers() const = 0;

    virtual std::vector<std::uint8_t> frame(const Request& request, std::uint16_t transaction) const = 0;
    // How long `bytes` of request take on the wire before anyone can answer (0 on TCP).
    virtual std::chrono::nanoseconds wire_time(std::size_t bytes) const = 0;
    // The silence the line needs after the last byte seen before a request may start (0 on TCP).
    virtual std::chrono::nanoseconds silence() const = 0;
    // A serial line's timing, for the planned load; none on TCP.
    virtual std::optional<SerialTiming> serial_timing() const = 0;

    // Takes bytes as they arrived and appends every frame they complete to `out`. Returns the bytes
    // found to belong to no frame.
    virtual std::size_t receive(std::span<const std::uint8_t> bytes, std::vector<Received>& out) = 0;
    // Bytes of an unfinished frame held.
    virtual std::size_t partial() const = 0;
    // Drops them (the line closed; or a request is about to start on a quiet serial line); returns how many.
    virtual std::size_t discard() = 0;
};

}  // namespace loopgate::modbus
