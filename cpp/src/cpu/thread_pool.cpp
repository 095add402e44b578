#include "cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <sched.h>

#include "hyperattn.h"

namespace ha::cpu {
namespace {

// The CPUs this process may run on: hardware_concurrency() counts every online CPU and ignores
// taskset/cgroup affinity, which would oversubscribe a pinned JVM.
int hardware_threads() {
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    return std::clamp(n, 1, 1024);
}

struct Job {
    const std::function<void(int64_t, int)>* fn = nullptr;
    int64_t n_tasks = 0;
    int max_slots = 1;
    std::atomic<int64_t> next{0};
    std::atomic<int> next_slot{1};  // slot 0 is the caller
    std::atomic<int32_t> status{HA_OK};
};

int32_t status_of_current_exception() {
    try {
        throw;
    } catch (const std::bad_alloc&) {
        return HA_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return HA_ERR_INTERNAL;
    }
}

void run_tasks(Job& job, int slot) {
    for (;;) {
        int64_t t = job.next.fetch_add(1, std::memory_order_relaxed);
        if (t >= job.n_tasks) return;
        if (job.status.load(std::memory_order_relaxed) != HA_OK) continue;  // drain fast
        try {
            (*job.fn)(t, slot);
        } catch (...) {
            int32_t expected = HA_OK;
            job.status.compare_exchange_strong(expected, status_of_current_exception());
        }
    }
}

class Pool {
public:
    ~Pool() {
        // Runs at process exit or when the library is unloaded: stop and join the workers so
        // no thread is left executing code that is about to be unmapped.
        std::lock_guard<std::mutex> run(run_mutex_);
        stop_workers();
    }

    void set_threads(int n) { desired_.store(std::max(1, n)); }
    int threads() const { return desired_.load(); }

    int32_t run(int64_t n_tasks, int max_slots, const std::function<void(int64_t, int)>& fn) {
        if (n_tasks <= 0) return HA_OK;
        std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
        int want = std::min<int64_t>({(int64_t)max_slots, (int64_t)desired_.load(), n_tasks});
        if (!run.owns_lock() || want <= 1) return run_inline(n_tasks, fn);

        if ((int)workers_.size() != desired_.load() - 1) {
            stop_workers();
            try {
                start_workers(desired_.load() - 1);
            } catch (...) {
                stop_workers();
                return run_inline(n_tasks, fn);  // cannot make threads: still do the work
            }
        }
        want = std::min<int>(want, (int)workers_.size() + 1);

        Job job;
        job.fn = &fn;
        job.n_tasks = n_tasks;
        job.max_slots = want;
        {
            std::lock_guard<std::mutex> lk(m_);
            job_ = &job;
            active_ = 0;
            ++generation_;
        }
        cv_work_.notify_all();
        run_tasks(job, 0);
        {
            // Unpublish first so late wakers do not join, then wait for those that did.
            std::unique_lock<std::mutex> lk(m_);
            job_ = nullptr;
            cv_done_.wait(lk, [&] { return active_ == 0; });
        }
        return job.status.load();
    }

private:
    static int32_t run_inline(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
        try {
            for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        } catch (...) {
            return status_of_current_exception();
        }
        return HA_OK;
    }

    void start_workers(int n) {
        stop_ = false;
        for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lk(m_);
            stop_ = true;
        }
        cv_work_.notify_all();
        for (auto& t : workers_)
            if (t.joinable()) t.join();
        workers_.clear();
        stop_ = false;
    }

    void worker_loop() {
        uint64_t seen = 0;
        {
            std::lock_guard<std::mutex> lk(m_);
            seen = generation_;
        }
        for (;;) {
            Job* job;
            int slot;
            {
                std::unique_lock<std::mutex> lk(m_);
                cv_work_.wait(lk, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
                job = job_;
                if (!job) continue;
                slot = job->next_slot.fetch_add(1);
                if (slot >= job->max_slots) continue;
                ++active_;
            }
            run_tasks(*job, slot);
            {
                std::lock_guard<std::mutex> lk(m_);
                --active_;
            }
            cv_done_.notify_all();
        }
    }

    std::mutex run_mutex_;  // one job at a time; others run inline
    std::mutex m_;
    std::condition_variable cv_work_, cv_done_;
    std::vector<std::thread> workers_;
    Job* job_ = nullptr;
    uint64_t generation_ = 0;
    int active_ = 0;
    bool stop_ = false;
    std::atomic<int> desired_{hardware_threads()};
};

Pool& pool() {
    static Pool p;
    return p;
}

}  // namespace

int32_t parallel_for(int64_t n_tasks, int max_slots,
                     const std::function<void(int64_t task, int slot)>& fn) {
    return pool().run(n_tasks, max_slots, fn);
}

void pool_set_threads(int n) { pool().set_threads(n <= 0 ? hardware_threads() : n); }
int pool_threads() { return pool().threads(); }

}  // namespace ha::cpu
