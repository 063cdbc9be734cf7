#pragma once
// The simulator's M-Bus heat meter: enough of one for the demo and for trying the mbus driver
// without a level converter. It answers SND_NKE and REQ_UD2 at its primary address, and at FDh once
// selected by its identification number (CI 52h, F wildcards); its readout is two telegrams, the
// first ending in DIF 1Fh ("more records follow"): the next REQ_UD2 with the FCB toggled gets the
// second, a repeat gets the same again, SND_NKE starts over.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace loopgate::commands {

class FakeMbusMeter {
public:
    explicit FakeMbusMeter(std::uint8_t address);

    // Bytes from the master in; the answers to every complete request for this meter out.
    std::vector<std::uint8_t> feed(std::span<const std::uint8_t> bytes, double t_seconds);

    const std::string& id() const { return id_; }  // 8 digits: 7100 0000 + the primary address

private:
    std::vector<std::uint8_t> telegram(int index, double t) const;

    std::uint8_t address_;
    std::string id_;
    bool selected_ = false;
    int next_ = 0;
    std::optional<bool> last_fcb_;
    std::vector<std::uint8_t> pending_;
};

}  // namespace loopgate::commands
