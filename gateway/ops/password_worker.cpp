#include "gateway/ops/password_worker.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

namespace loopgate {

PasswordWorker::PasswordWorker(boost::asio::io_context& io, std::size_t queue)
    : io_(io), limit_(queue), thread_([this] { run(); }) {}

PasswordWorker::~PasswordWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

bool PasswordWorker::submit(std::function<bool()> work, std::function<void(bool)> done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || jobs_.size() >= limit_) return false;
        jobs_.push_back({std::move(work), std::move(done)});
    }
    wake_.notify_one();
    return true;
}

void PasswordWorker::run() {
    // Linux keeps a nice value per thread: on a box whose cores are busy, the readings go first.
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        bool result = job.work();
        // `done` is moved into the handler: it is destroyed on the event loop (or with it), never here.
        boost::asio::post(io_, [done = std::move(job.done), result] { done(result); });
        lock.lock();
    }
}

}  // namespace loopgate
