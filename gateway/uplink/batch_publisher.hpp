#pragma once
// How a stored batch goes onto the wire. The bridge decides what to publish and when; a publisher
// decides the topic(s) and payload format: Loopgate's own schema (NativePublisher) or Sparkplug B.

#include <functional>
#include <memory>
#include <string>

#include "gateway/store/store.hpp"

namespace loopgate {

class Uplink;
class BatchSigner;
struct Config;

class BatchPublisher {
public:
    virtual ~BatchPublisher() = default;
    // Publishes one stored batch (payload: a serialized loopgate.v1.Batch). `done(true)` once the
    // broker acknowledged all of it, `done(false)` if any part failed (the bridge sends it again).
    virtual void publish(const StoredBatch& batch, bool historical, std::function<void(bool)> done) = 0;
    // False while data must be held in the store (e.g. the Sparkplug primary host is offline).
    virtual bool ready() const { return true; }
    // The uplink (re)connected: publish whatever a new session needs first (births).
    virtual void on_connected() {}
};

// <prefix>/<gateway>/data, one message per batch, payload as stored.
class NativePublisher final : public BatchPublisher {
public:
    NativePublisher(Uplink& uplink, const Config& config);
    void publish(const StoredBatch& batch, bool historical, std::function<void(bool)> done) override;

private:
    Uplink& uplink_;
    std::string topic_;
    std::shared_ptr<const BatchSigner> signer_;  // signing.key_file: publish SignedBatch (batch_signer.hpp)
};

}  // namespace loopgate
