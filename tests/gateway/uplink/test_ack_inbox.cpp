// Acknowledgements from Paho's thread: the ones nobody waits for queue without waking the event
// loop; a failure, a publish somebody waits on, or any while urgent asks for one settle.

#include <catch2/catch.hpp>

#include <thread>

#include "gateway/uplink/ack_inbox.hpp"

using namespace loopgate;

TEST_CASE("an acknowledgement that may wait queues without asking for a settle", "[ack_inbox]") {
    AckInbox inbox;
    CHECK(inbox.empty());
    CHECK_FALSE(inbox.add(1, true, true));
    CHECK_FALSE(inbox.add(2, true, true));
    CHECK_FALSE(inbox.empty());
    auto acks = inbox.take();
    REQUIRE(acks.size() == 2);
    CHECK(acks[0].id == 1);
    CHECK(acks[1].id == 2);
    CHECK(acks[1].delivered);
    CHECK(inbox.empty());
}

TEST_CASE("a prompt acknowledgement asks for one settle, which also takes the waiting ones", "[ack_inbox]") {
    AckInbox inbox;
    CHECK_FALSE(inbox.add(1, true, true));
    CHECK(inbox.add(2, true, false));
    CHECK_FALSE(inbox.add(3, true, false));  // one settle is on its way already
    CHECK(inbox.take().size() == 3);
    CHECK(inbox.add(4, true, false));  // taken: the next one asks again
}

TEST_CASE("a failure never waits, whoever published it", "[ack_inbox]") {
    AckInbox inbox;
    CHECK(inbox.add(1, false, true));
    auto acks = inbox.take();
    REQUIRE(acks.size() == 1);
    CHECK_FALSE(acks[0].delivered);
}

TEST_CASE("while urgent, no acknowledgement waits", "[ack_inbox]") {
    AckInbox inbox;
    inbox.set_urgent(true);
    CHECK(inbox.add(1, true, true));
    inbox.take();
    inbox.set_urgent(false);
    CHECK_FALSE(inbox.add(2, true, true));
}

TEST_CASE("acknowledgements from another thread all arrive, in order, and ask for settles sparingly", "[ack_inbox]") {
    AckInbox inbox;
    int settles = 0;
    std::thread paho([&] {
        for (std::uint64_t id = 1; id <= 10000; ++id)
            if (inbox.add(id, true, id % 100 != 0)) ++settles;
    });
    std::vector<Ack> got;
    while (got.size() < 10000) {
        auto some = inbox.take();
        got.insert(got.end(), some.begin(), some.end());
    }
    paho.join();
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i].id == i + 1);
    CHECK(settles >= 1);
    CHECK(settles <= 100);
}
