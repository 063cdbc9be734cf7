#pragma once
// Stands in for the gateway's event loop in store tests: the store's syncer thread posts its
// completions, the test thread runs them.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace loopgate::testing {

struct PostedQueue {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::function<void()>> work;

    void post(std::function<void()> f) {
        std::lock_guard<std::mutex> lock(m);
        work.push_back(std::move(f));
        cv.notify_all();
    }
    // Runs what is posted, after waiting up to `wait` for something to be; false when nothing came.
    bool run(std::chrono::milliseconds wait) {
        std::vector<std::function<void()>> now;
        {
            std::unique_lock<std::mutex> lock(m);
            if (!cv.wait_for(lock, wait, [&] { return !work.empty(); })) return false;
            now.swap(work);
        }
        for (auto& f : now) f();
        return true;
    }
};

}  // namespace loopgate::testing
