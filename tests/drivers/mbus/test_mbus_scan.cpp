// The scan behind `loopgate mbus-scan`, against a simulated bus on which meters answer at once and
// garble each other as they do on a real line (a 0 bit wins: bytes AND together), on a fake clock.

#include <catch2/catch.hpp>

#include "../hex_bytes.hpp"
#include "drivers/mbus/mbus_frame.hpp"
#include "drivers/mbus/mbus_scan.hpp"

using namespace loopgate;
using namespace loopgate::mbus;
using namespace std::chrono_literals;

namespace {

struct SimMeter {
    std::uint8_t address;
    std::string id;  // 8 digits
    bool selected = false;

    std::vector<std::uint8_t> telegram() const {
        std::vector<std::uint8_t> data;
        for (int i = 3; i >= 0; --i)
            data.push_back(static_cast<std::uint8_t>((id[2 * i] - '0') << 4 | (id[2 * i + 1] - '0')));
        auto rest = hex("2D 2C 08 04 2A 00 00 00 04 06");  // KAM, version 8, heat; energy in kWh:
        data.insert(data.end(), rest.begin(), rest.end());
        // each meter has counted its own energy (identical telegrams would superimpose into a valid one)
        std::uint32_t kwh = static_cast<std::uint32_t>(std::stoul(id)) * 2654435761u;
        for (int i = 0; i < 4; ++i) data.push_back(static_cast<std::uint8_t>(kwh >> (8 * i)));
        return build_long(kRspUd, address, 0x72, data);
    }
};

std::vector<std::uint8_t> superimpose(const std::vector<std::vector<std::uint8_t>>& answers) {
    if (answers.empty()) return {};
    std::vector<std::uint8_t> out = answers[0];
    for (const auto& a : answers)
        for (std::size_t i = 0; i < out.size(); ++i) out[i] &= i < a.size() ? a[i] : 0xFF;
    return out;
}

std::vector<std::uint8_t> bus(std::vector<SimMeter>& meters, const std::vector<std::uint8_t>& request) {
    REQUIRE(scan_frame(request).status == FrameScan::complete);
    Frame f = parse_frame(request);
    std::vector<std::vector<std::uint8_t>> answers;
    if (f.kind == FrameKind::long_frame && f.ci == kCiSelectSecondary) {
        std::string mask = id_digits(f.data.first(4));
        for (SimMeter& m : meters) {
            m.selected = true;
            for (int i = 0; i < 8; ++i) m.selected = m.selected && (mask[i] == 'F' || mask[i] == m.id[i]);
            if (m.selected) answers.push_back({kAck});
        }
    } else {
        for (SimMeter& m : meters) {
            bool me = f.address == m.address || (f.address == kAddressNetworkLayer && m.selected);
            if (!me) continue;
            if (f.control == kSndNke) answers.push_back({kAck});
            else answers.push_back(m.telegram());
        }
    }
    return superimpose(answers);
}

std::vector<FoundMeter> run_scan(std::vector<SimMeter> meters, bool secondary, std::uint64_t* probes = nullptr) {
    PortInfo port{"mbus", 2400, 8, true, 1};
    Scan scan(bus_timing(port, Settings{}), secondary);
    SteadyTime now{std::chrono::hours(1)};
    Scan::Step step = scan.start(now);
    for (int guard = 0; !step.done && guard < 100000; ++guard) {
        if (!step.send.empty()) {
            auto answer = bus(meters, step.send);
            if (!answer.empty()) {
                now += 30ms;
                step = scan.on_bytes(answer, now);
                continue;
            }
        }
        now = std::max(now, step.wake);
        step = scan.on_timer(now);
    }
    REQUIRE(step.done);
    if (probes) *probes = scan.probes();
    return scan.found();
}

}  // namespace

TEST_CASE("mbus scan: primary addresses 0-250, each meter's header, two meters at one address", "[mbus]") {
    auto found = run_scan({{1, "12345678"}, {5, "00000042"}, {7, "11111111"}, {7, "22222222"}, {250, "99999999"}}, false);
    REQUIRE(found.size() == 4);
    CHECK(found[0].address == 1);
    CHECK(found[0].id == "12345678");
    CHECK(found[0].manufacturer == "KAM");
    CHECK(found[0].version == 8);
    CHECK(found[0].medium == 4);
    CHECK(found[1].id == "00000042");
    CHECK(found[2].address == 7);
    CHECK(found[2].collision);
    CHECK(found[3].address == 250);
}

TEST_CASE("mbus scan: a secondary search tells apart meters whose numbers differ in the last digit", "[mbus]") {
    std::uint64_t probes = 0;
    auto found = run_scan({{0, "12345678"}, {0, "12345679"}, {0, "87654321"}, {3, "12300000"}}, true, &probes);
    std::vector<std::string> ids;
    for (const auto& m : found) {
        CHECK_FALSE(m.collision);
        ids.push_back(m.id);
    }
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::string>{"12300000", "12345678", "12345679", "87654321"});
    // Depth first, only where answers collide: far fewer probes than 10^8.
    CHECK(probes < 200);
}

TEST_CASE("mbus scan: an empty line ends with nothing found", "[mbus]") {
    CHECK(run_scan({}, true).empty());
    CHECK(run_scan({}, false).empty());
}
