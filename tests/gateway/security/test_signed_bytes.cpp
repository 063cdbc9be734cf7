// What an operator's signature covers (gateway/security/signed_bytes.hpp): a Command or a ConfigUpdate
// serialized with `signature` cleared. The bytes are spelled out, so that a change of the rule (or of
// the fields it covers) fails here before every signer in the field stops being accepted.

#include <catch2/catch.hpp>

#include "gateway/security/signed_bytes.hpp"
#include "loopgate.pb.h"

using namespace loopgate;

TEST_CASE("signed bytes: a command without its signature, every other field included", "[signed_bytes]") {
    v1::Command c;
    c.set_id("a");
    c.set_int_value(-1);      // field 5, sint64: zigzag 1
    c.set_expires_ns(1);      // field 8
    c.set_verify(true);       // field 11
    const std::string expected("\x0a\x01" "a" "\x28\x01" "\x40\x01" "\x58\x01");
    CHECK(signed_bytes(c) == expected);
    c.set_signature(std::string(64, 's'));
    c.set_key_id("0123456789abcdef");  // field 10, covered: a signature names its key
    CHECK(signed_bytes(c) == std::string("\x0a\x01" "a" "\x28\x01" "\x40\x01" "\x52\x10" "0123456789abcdef" "\x58\x01"));
    CHECK(c.signature().size() == 64);  // the message itself keeps its signature
}

TEST_CASE("signed bytes: a config update without its signature", "[signed_bytes]") {
    v1::ConfigUpdate u;
    u.set_yaml("y");
    u.set_version(7);
    u.set_signature("sig");
    const std::string expected("\x0a\x01" "y" "\x10\x07");
    CHECK(signed_bytes(u) == expected);
    u.set_gateway_id("gw1");
    CHECK(signed_bytes(u) == expected + "\x1a\x03" "gw1");
}
