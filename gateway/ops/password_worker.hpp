#pragma once
// Runs the status page's password checks (PBKDF2, some 50 ms each) on a thread of their own, so a
// flood of logins never stalls the event loop that carries the readings. One thread, at a lower
// priority than the gateway's, and a bounded queue: a check that finds the queue full is refused at
// once (the caller answers "busy"), so a flood costs at most one core's share and a fixed memory.
// The answer is posted back to the event loop; nothing of the gateway's state is touched off it.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>

namespace loopgate {

class PasswordWorker {
public:
    static constexpr std::size_t default_queue = 4;

    explicit PasswordWorker(boost::asio::io_context& io, std::size_t queue = default_queue);
    // Drops the checks still queued (their answers never come) and joins the thread.
    ~PasswordWorker();
    PasswordWorker(const PasswordWorker&) = delete;
    PasswordWorker& operator=(const PasswordWorker&) = delete;

    // `work` runs on the worker; `done` gets its result on the event loop. False, and nothing runs,
    // when `queue` checks are already waiting.
    bool submit(std::function<bool()> work, std::function<void(bool)> done);

private:
    struct Job {
        std::function<bool()> work;
        std::function<void(bool)> done;
    };
    void run();

    boost::asio::io_context& io_;
    std::size_t limit_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace loopgate
