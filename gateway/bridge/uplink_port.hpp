#pragma once
// What the bridge needs of the uplink: whether it is up, and control over when acknowledgements are
// settled. Publishing goes through a BatchPublisher. An interface, so the bridge's shell can be run
// against a fake; UplinkAdapter is the real one.

#include <cstdint>
#include <functional>

namespace loopgate {

class Uplink;

class UplinkPort {
public:
    virtual ~UplinkPort() = default;
    virtual bool connected() const = 0;
    virtual std::uint64_t connect_failures() const = 0;
    // Runs the handlers of the acknowledgements left waiting (see Uplink::settle_acks).
    virtual void settle_acks() = 0;
    // While urgent, no acknowledgement waits.
    virtual void set_acks_urgent(bool urgent) = 0;
    // Runs `publish`; when lazy, the acknowledgements of what it publishes may wait for settle_acks().
    virtual void with_lazy_acks(bool lazy, const std::function<void()>& publish) = 0;
};

class UplinkAdapter final : public UplinkPort {
public:
    explicit UplinkAdapter(Uplink& uplink) : uplink_(uplink) {}
    bool connected() const override;
    std::uint64_t connect_failures() const override;
    void settle_acks() override;
    void set_acks_urgent(bool urgent) override;
    void with_lazy_acks(bool lazy, const std::function<void()>& publish) override;

private:
    Uplink& uplink_;
};

}  // namespace loopgate
