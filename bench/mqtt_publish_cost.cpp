// What one QoS 1 publish costs the whole process at a low rate, by MQTT client: Paho C++'s
// asynchronous client (as the gateway uses it, the acknowledgement counted on Paho's thread without
// waking anyone: the best case of gateway/uplink/ack_inbox.hpp) against a minimal MQTT 3.1.1 client
// on the Asio event loop (one thread: the timer, the write, the PUBACK's read). Same broker, same
// payload, same timer; the runs alternate. This measures the decision issue 14's CPU targets wait
// for (docs/BENCHMARKS.md, "What an MQTT client on the event loop would save"); the event-loop client
// here is a measuring device, not a product: no TLS, no reconnect, no session, no MQTT 5.
//
//   loopgate_mqtt_publish_cost PORT [publishes=1000] [interval_ms=10] [payload_bytes=500] [rounds=2]
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <mqtt/async_client.h>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Usage {
    double cpu_s = 0;
    long voluntary = 0, involuntary = 0;
};

Usage usage_now() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);  // every thread of the process, Paho's included
    Usage u;
    u.cpu_s = static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
              static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
    u.voluntary = r.ru_nvcsw;
    u.involuntary = r.ru_nivcsw;
    return u;
}

struct Result {
    double cpu_us_per_publish = 0, switches_per_publish = 0;
    int acked = 0;
};

Result report(const Usage& a, const Usage& b, int publishes, int acked) {
    Result r;
    r.cpu_us_per_publish = (b.cpu_s - a.cpu_s) / publishes * 1e6;
    r.switches_per_publish = static_cast<double>((b.voluntary - a.voluntary) + (b.involuntary - a.involuntary)) / publishes;
    r.acked = acked;
    return r;
}

// Publishes every interval from an Asio timer, as the gateway's event loop does after a poll.
Result run_paho(int port, int publishes, std::chrono::milliseconds interval, const std::string& payload) {
    mqtt::async_client client("tcp://127.0.0.1:" + std::to_string(port), "lg-cost-paho", nullptr);
    auto options = mqtt::connect_options_builder().clean_session(true).keep_alive_interval(std::chrono::seconds(60)).finalize();
    client.connect(options)->wait();
    std::atomic<int> acked{0};
    struct Counter : mqtt::iaction_listener {
        std::atomic<int>* acked;
        void on_success(const mqtt::token&) override { acked->fetch_add(1, std::memory_order_relaxed); }
        void on_failure(const mqtt::token&) override {}
    } counter;
    counter.acked = &acked;
    asio::io_context io;
    asio::steady_timer timer(io);
    int sent = 0;
    Usage start = usage_now();
    std::function<void()> tick = [&] {
        client.publish(mqtt::make_message("lg-cost/paho", payload, 1, false), nullptr, counter);
        if (++sent == publishes) return;
        timer.expires_at(timer.expiry() + interval);
        timer.async_wait([&](const boost::system::error_code&) { tick(); });
    };
    timer.expires_after(interval);
    timer.async_wait([&](const boost::system::error_code&) { tick(); });
    io.run();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (acked.load() < publishes && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Usage end = usage_now();
    client.disconnect()->wait();
    return report(start, end, publishes, acked.load());
}

// MQTT 3.1.1 (OASIS standard): CONNECT, then QoS 1 PUBLISHes, reading PUBACKs on the same thread.
class LoopClient {
public:
    LoopClient(asio::io_context& io, int port) : socket_(io) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
        socket_.set_option(tcp::no_delay(true));
        std::string id = "lg-cost-loop";
        std::string body;
        body += std::string("\x00\x04MQTT\x04\x02", 8);  // protocol name, level 4, clean session
        body += std::string("\x00\x3c", 2);              // keep alive 60 s
        body += static_cast<char>(id.size() >> 8);
        body += static_cast<char>(id.size() & 0xff);
        body += id;
        std::string packet = frame(0x10, body);
        asio::write(socket_, asio::buffer(packet));
        unsigned char connack[4];
        asio::read(socket_, asio::buffer(connack));
        if (connack[0] != 0x20 || connack[3] != 0) throw std::runtime_error("CONNACK refused");
    }

    void publish(const std::string& topic, const std::string& payload) {
        std::uint16_t id = ++packet_id_ == 0 ? ++packet_id_ : packet_id_;
        std::string body;
        body += static_cast<char>(topic.size() >> 8);
        body += static_cast<char>(topic.size() & 0xff);
        body += topic;
        body += static_cast<char>(id >> 8);
        body += static_cast<char>(id & 0xff);
        body += payload;
        out_ = frame(0x32, body);  // PUBLISH, QoS 1
        asio::write(socket_, asio::buffer(out_));
    }

    // PUBACKs (4 bytes each: 0x40 0x02 id id) as they come, on the event loop.
    void read_acks(std::function<void()> on_ack) {
        on_ack_ = std::move(on_ack);
        read();
    }

    void close() {
        std::string disconnect("\xe0\x00", 2);
        boost::system::error_code ec;
        asio::write(socket_, asio::buffer(disconnect), ec);
        socket_.close(ec);
    }

private:
    static std::string frame(unsigned char type, const std::string& body) {
        std::string out(1, static_cast<char>(type));
        std::size_t n = body.size();
        do {
            unsigned char byte = n % 128;
            n /= 128;
            if (n > 0) byte |= 0x80;
            out += static_cast<char>(byte);
        } while (n > 0);
        return out + body;
    }

    void read() {
        socket_.async_read_some(asio::buffer(in_), [this](const boost::system::error_code& ec, std::size_t n) {
            if (ec) return;
            pending_.append(in_.data(), n);
            while (pending_.size() >= 4 && static_cast<unsigned char>(pending_[0]) == 0x40) {
                pending_.erase(0, 4);
                on_ack_();
            }
            read();
        });
    }

    tcp::socket socket_;
    std::uint16_t packet_id_ = 0;
    std::string out_, pending_;
    std::array<char, 512> in_{};
    std::function<void()> on_ack_;
};

Result run_loop(int port, int publishes, std::chrono::milliseconds interval, const std::string& payload) {
    asio::io_context io;
    LoopClient client(io, port);
    asio::steady_timer timer(io);
    int sent = 0, acked = 0;
    Usage start = usage_now();
    client.read_acks([&] {
        if (++acked == publishes) io.stop();
    });
    std::function<void()> tick = [&] {
        client.publish("lg-cost/loop", payload);
        if (++sent == publishes) return;
        timer.expires_at(timer.expiry() + interval);
        timer.async_wait([&](const boost::system::error_code&) { tick(); });
    };
    timer.expires_after(interval);
    timer.async_wait([&](const boost::system::error_code&) { tick(); });
    io.run_for(std::chrono::milliseconds(interval.count() * publishes + 10000));
    Usage end = usage_now();
    client.close();
    return report(start, end, publishes, acked);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PORT [publishes=1000] [interval_ms=10] [payload_bytes=500] [rounds=2]\n", argv[0]);
        return 2;
    }
    int port = std::atoi(argv[1]);
    int publishes = argc > 2 ? std::atoi(argv[2]) : 1000;
    std::chrono::milliseconds interval(argc > 3 ? std::atoi(argv[3]) : 10);
    std::string payload(static_cast<std::size_t>(argc > 4 ? std::atoi(argv[4]) : 500), 'r');
    int rounds = argc > 5 ? std::atoi(argv[5]) : 2;
    std::printf("publishes %d, every %lld ms, %zu payload bytes, QoS 1, broker 127.0.0.1:%d\n", publishes,
                static_cast<long long>(interval.count()), payload.size(), port);
    for (int round = 1; round <= rounds; ++round) {
        for (bool paho : {true, false}) {
            Result r = paho ? run_paho(port, publishes, interval, payload) : run_loop(port, publishes, interval, payload);
            std::printf("round %d %-16s cpu_us_per_publish %7.1f  context_switches_per_publish %5.2f  acked %d\n", round,
                        paho ? "paho_async" : "asio_event_loop", r.cpu_us_per_publish, r.switches_per_publish, r.acked);
        }
    }
    return 0;
}
