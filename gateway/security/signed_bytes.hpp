#pragma once
// What an operator's Ed25519 signature covers in a message pushed down from the broker (a Command, a
// ConfigUpdate; proto/loopgate.proto): the message serialized with its `signature` field cleared, every
// other field included. One rule for the checkers (gateway/downlink/command_check,
// gateway/fleet/config_update) and the signer (`loopgate config push`). A SignedBatch goes the other
// way: the gateway signs the Batch bytes it carries (batch_signer.hpp).

#include <string>

namespace loopgate {

template <class Message>
    requires requires(Message m, std::string* out) {
        m.clear_signature();
        m.SerializeToString(out);
    }
std::string signed_bytes(const Message& message) {
    Message copy = message;
    copy.clear_signature();
    std::string out;
    copy.SerializeToString(&out);
    return out;
}

}  // namespace loopgate
