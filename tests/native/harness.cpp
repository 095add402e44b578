#include "harness.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace hat {

namespace {
std::string g_case;
bool g_case_failed = false;
bool g_in_case = false;
int g_fail_prints = 0;
}  // namespace

Counts& counts() {
    static Counts c;
    return c;
}

std::string format(const char* fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

void begin_case(const std::string& label) {
    g_case = label;
    g_case_failed = false;
    g_in_case = true;
}

void fail_case(const char* file, int line, const std::string& msg) {
    if (!g_in_case) begin_case("(unnamed)");
    if (!g_case_failed && g_fail_prints < 200) {
        std::printf("FAIL %s\n     %s:%d: %s\n", g_case.c_str(), file, line, msg.c_str());
        ++g_fail_prints;
    }
    g_case_failed = true;
}

void end_case() {
    if (!g_in_case) return;
    if (g_case_failed)
        ++counts().failed;
    else
        ++counts().passed;
    g_in_case = false;
}

void skip_case(const std::string& label, const std::string& why) {
    std::printf("SKIP %s: %s\n", label.c_str(), why.c_str());
    ++counts().skipped;
}

std::mt19937_64& rng() {
    // Seeded per test by main (reseed_for).
    static std::mt19937_64 r;
    return r;
}

HostTensor HostTensor::make(int32_t dtype, const int64_t shape[4], const int64_t strides[4]) {
    HostTensor t;
    t.dtype = dtype;
    int64_t last = 0;
    for (int i = 0; i < 4; ++i) {
        t.shape[i] = shape[i];
        t.strides[i] = strides[i];
        if (shape[i] > 0) last += (shape[i] - 1) * strides[i];
    }
    t.storage.assign(static_cast<size_t>((last + 1) * t.esize() + 64), 0);
    // 64-byte alignment of the first element, like the Java allocator.
    uintptr_t p = reinterpret_cast<uintptr_t>(t.storage.data());
    t.offset = static_cast<size_t>((64 - p % 64) % 64);
    if (t.offset + static_cast<size_t>((last + 1) * t.esize()) > t.storage.size())
        t.storage.resize(t.offset + static_cast<size_t>((last + 1) * t.esize()));
    return t;
}

HostTensor HostTensor::dense(int32_t dtype, int64_t b, int64_t h, int64_t s, int64_t d,
                             const int perm[4]) {
    const int64_t shape[4] = {b, h, s, d};
    int64_t strides[4];
    int64_t acc = 1;
    for (int j = 3; j >= 0; --j) {
        strides[perm[j]] = acc;
        acc *= shape[perm[j]];
    }
    return make(dtype, shape, strides);
}

float HostTensor::get(int64_t b, int64_t h, int64_t s, int64_t d) const {
    const unsigned char* base = storage.data() + offset;
    int64_t i = index(b, h, s, d);
    if (dtype == HA_DTYPE_F32) {
        float f;
        std::memcpy(&f, base + i * 4, 4);
        return f;
    }
    uint16_t u;
    std::memcpy(&u, base + i * 2, 2);
    return dtype == HA_DTYPE_F16 ? f16_to_f32(u) : bf16_to_f32(u);
}

void HostTensor::set(int64_t b, int64_t h, int64_t s, int64_t d, float x) {
    unsigned char* base = storage.data() + offset;
    int64_t i = index(b, h, s, d);
    if (dtype == HA_DTYPE_F32) {
        std::memcpy(base + i * 4, &x, 4);
    } else {
        uint16_t u = dtype == HA_DTYPE_F16 ? f32_to_f16(x) : f32_to_bf16(x);
        std::memcpy(base + i * 2, &u, 2);
    }
}

void HostTensor::poison() {
    // 0x7fc07fc0 is a quiet NaN read as f32 and two quiet NaNs read as bf16 or as f16.
    for (size_t i = 0; i + 1 < storage.size(); i += 2) {
        storage[i] = 0xc0;
        storage[i + 1] = 0x7f;
    }
}

void HostTensor::fill_normal(float stddev) {
    std::normal_distribution<float> nd(0.0f, stddev);
    for (int64_t b = 0; b < shape[0]; ++b)
        for (int64_t h = 0; h < shape[1]; ++h)
            for (int64_t s = 0; s < shape[2]; ++s)
                for (int64_t d = 0; d < shape[3]; ++d) set(b, h, s, d, nd(rng()));
}

ha_tensor HostTensor::desc() {
    ha_tensor t{};
    t.data = data();
    t.dtype = dtype;
    t.device_type = HA_DEVICE_CPU;
    t.device_id = 0;
    for (int i = 0; i < 4; ++i) {
        t.shape[i] = shape[i];
        t.strides[i] = strides[i];
    }
    return t;
}

}  // namespace hat

namespace {

// One test's random draws depend on the seed and its name only, so a failure seen in a full
// (or multi-job) run repeats with `HA_TEST_SEED=S ha_native_tests NAME`.
void reseed_for(uint64_t base, const char* name) {
    uint64_t h = 1469598103934665603ull;
    for (const char* p = name; *p; ++p) h = (h ^ uint8_t(*p)) * 1099511628211ull;
    hat::rng().seed(base ^ h);
}

// HA_TEST_JOBS=n: n processes (this one and n-1 forked before any library call, so no pool
// threads exist yet) take the tests one at a time from a shared counter; most of a run is
// single-threaded float64 reference loops, so one process leaves a core idle. Each child's
// output goes to a file of its own that the parent prints after it, then the summed counts.
struct JobShare {
    std::atomic<int> next{0};
    int passed[64], failed[64], skipped[64];
};

}  // namespace

int main(int argc, char** argv) {
    // HA_TEST_SEED, or the clock: printed first so that any run can be repeated.
    uint64_t base_seed = 0;
    if (const char* env = std::getenv("HA_TEST_SEED"); env && *env)
        base_seed = std::strtoull(env, nullptr, 10);
    else
        base_seed = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    std::printf("seed %llu (set HA_TEST_SEED to repeat)\n", static_cast<unsigned long long>(base_seed));
    // HA_TEST_FILTER=substr[,substr...] runs only the tests whose name contains one of them.
    const char* filter = std::getenv("HA_TEST_FILTER");
    int jobs = 1;
    if (const char* j = std::getenv("HA_TEST_JOBS"); j && *j) {
        char* end = nullptr;
        const long v = std::strtol(j, &end, 10);
        if (*end != '\0' || v < 1 || v > 64) {
            std::fprintf(stderr, "HA_TEST_JOBS=%s: expected a count from 1 to 64\n", j);
            return 2;
        }
        jobs = int(v);
    }
    JobShare* share = nullptr;
    std::vector<FILE*> logs;
    std::vector<pid_t> pids;
    int job = 0;
    if (jobs > 1) {
        void* m = mmap(nullptr, sizeof(JobShare), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            std::perror("HA_TEST_JOBS: mmap");
            return 2;
        }
        share = new (m) JobShare();
        std::printf("%d jobs\n", jobs);
        std::fflush(stdout);
        std::fflush(stderr);
        for (int i = 1; i < jobs; ++i) {
            FILE* f = std::tmpfile();
            if (!f) {
                std::perror("HA_TEST_JOBS: tmpfile");
                return 2;
            }
            const pid_t pid = fork();
            if (pid < 0) {
                std::perror("HA_TEST_JOBS: fork");
                return 2;
            }
            if (pid == 0) {
                job = i;
                dup2(fileno(f), 1);
                dup2(fileno(f), 2);
                std::printf("job %d\n", i);
                break;
            }
            logs.push_back(f);
            pids.push_back(pid);
        }
    }
    auto claim = [&] { return share ? share->next.fetch_add(1) : -1; };
    int claimed = claim();
    int index = -1;
    for (auto& t : hat::Registry::tests()) {
        ++index;
        if (share) {
            if (index != claimed) continue;
            claimed = claim();
        }
        // Arguments, if any, filter the tests: a test runs when its name contains one of them;
        // so does HA_TEST_FILTER (comma-separated parts).
        bool wanted = argc < 2;
        for (int a = 1; a < argc && !wanted; ++a) wanted = std::strstr(t.name, argv[a]) != nullptr;
        if (!wanted) continue;
        if (filter && *filter) {
            bool hit = false;
            std::string f(filter);
            for (size_t at = 0; at <= f.size();) {
                const size_t comma = std::min(f.find(',', at), f.size());
                const std::string part = f.substr(at, comma - at);
                if (!part.empty() && std::string(t.name).find(part) != std::string::npos) hit = true;
                at = comma + 1;
            }
            if (!hit) continue;
        }
        std::printf("== %s\n", t.name);
        std::fflush(stdout);
        reseed_for(base_seed, t.name);
        const auto start = std::chrono::steady_clock::now();
        t.fn();
        hat::end_case();
        // Per-test time, so CI's budget can be kept by knowing where it goes.
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (secs >= 1.0) std::printf("   (%.1f s)\n", secs);
        std::fflush(stdout);
    }
    auto& c = hat::counts();
    if (share && job > 0) {
        share->passed[job] = c.passed;
        share->failed[job] = c.failed;
        share->skipped[job] = c.skipped;
        // exit, not _exit: a sanitizer's leak check runs at exit, and its report and status
        // reach the parent like a failure.
        std::exit(0);
    }
    int passed = c.passed, failed = c.failed, skipped = c.skipped;
    for (size_t i = 0; i < pids.size(); ++i) {
        int status = 0;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
        }
        std::fflush(stdout);
        std::rewind(logs[i]);
        char buf[4096];
        size_t got;
        while ((got = std::fread(buf, 1, sizeof buf, logs[i])) > 0) std::fwrite(buf, 1, got, stdout);
        std::fclose(logs[i]);
        const int j = int(i) + 1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed += share->passed[j];
            failed += share->failed[j];
            skipped += share->skipped[j];
        } else {
            // A crashed job's current test and every test it would have claimed later are lost:
            // count it as a failure, never as a pass.
            ++failed;
            if (WIFSIGNALED(status))
                std::printf("FAIL job %d killed by signal %d (its last test is the last '==' above)\n", j,
                            WTERMSIG(status));
            else
                std::printf("FAIL job %d exited with status %d\n", j, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    }
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
