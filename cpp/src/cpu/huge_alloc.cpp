// Huge-page mappings for large working buffers (huge_alloc.h), and a small cache of released
// ones: an approximate call allocates the same few dozen buffers every time, and a mapping
// reused costs no faults and no zeroing by the kernel (the zeroing alone was 11% of a 32k
// call). A cached mapping is marked MADV_FREE, so under memory pressure the kernel takes its
// pages back without swapping; the cache never holds more than its limit (1 GiB unless
// ha_set_buffer_cache_limit says otherwise).
#include "cpu/huge_alloc.h"

#include <sys/mman.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <vector>

namespace ha::cpu {

namespace {

constexpr size_t kCacheEntries = 64;

struct Block {
    void* p;
    size_t len;
};

struct Cache {
    std::mutex mu;
    std::vector<Block> blocks;  // oldest first
    size_t bytes = 0;
    size_t limit = size_t(1) << 30;
};

Cache& cache() {
    static Cache* c = new Cache;  // never destroyed: buffers may be released during exit
    return *c;
}

size_t round_len(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

void* map_fresh(size_t len) {
    // Map one huge page more and trim, so the buffer starts on a huge-page boundary.
    void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
    if (start > base) munmap(raw, start - base);
    const uintptr_t end = start + len, raw_end = base + len + kHugePage;
    if (raw_end > end) munmap(reinterpret_cast<void*>(end), raw_end - end);
#ifdef MADV_HUGEPAGE
    madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);
#endif
    return reinterpret_cast<void*>(start);
}

}  // namespace

void* huge_map(size_t bytes) {
    const size_t len = round_len(bytes);
    {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mu);
        // The smallest cached mapping that fits. What it has beyond len stays cached as a
        // block of its own (len is whole huge pages, so it starts on one): unmapping it made
        // a caller that alternates exact and approximate calls fault in fresh pages each time.
        size_t best = c.blocks.size();
        for (size_t i = 0; i < c.blocks.size(); ++i)
            if (c.blocks[i].len >= len && (best == c.blocks.size() || c.blocks[i].len < c.blocks[best].len))
                best = i;
        if (best < c.blocks.size()) {
            const Block b = c.blocks[best];
            c.blocks.erase(c.blocks.begin() + long(best));
            c.bytes -= len;
            if (b.len > len) c.blocks.push_back(Block{static_cast<char*>(b.p) + len, b.len - len});
            return b.p;
        }
    }
    return map_fresh(len);
}

// Unmaps the oldest blocks until the cache fits its limit (c.mu held); returns them.
static std::vector<Block> trim(Cache& c) {
    std::vector<Block> drop;
    while (!c.blocks.empty() && (c.bytes > c.limit || c.blocks.size() > kCacheEntries)) {
        drop.push_back(c.blocks.front());
        c.bytes -= c.blocks.front().len;
        c.blocks.erase(c.blocks.begin());
    }
    return drop;
}

void huge_unmap(void* p, size_t bytes) {
    const size_t len = round_len(bytes);
    std::vector<Block> drop;
    {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mu);
        if (len > c.limit) {
            drop.push_back(Block{p, len});
        } else {
#ifdef MADV_FREE
            madvise(p, len, MADV_FREE);
#endif
            // Joined with cached neighbours (the rest of a block huge_map split, or a
            // mapping the kernel placed next to it), so a later request of the whole size
            // finds it again.
            Block nb{p, len};
            c.bytes += len;
            for (size_t i = 0; i < c.blocks.size();) {
                char* const bp = static_cast<char*>(c.blocks[i].p);
                if (bp + c.blocks[i].len == static_cast<char*>(nb.p)) {
                    nb = Block{bp, c.blocks[i].len + nb.len};
                } else if (static_cast<char*>(nb.p) + nb.len == bp) {
                    nb.len += c.blocks[i].len;
                } else {
                    ++i;
                    continue;
                }
                c.blocks.erase(c.blocks.begin() + long(i));
                i = 0;
            }
            c.blocks.push_back(nb);
            drop = trim(c);
        }
    }
    for (const Block& b : drop) munmap(b.p, b.len);
}

void set_huge_cache_limit(size_t bytes) {
    std::vector<Block> drop;
    {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mu);
        c.limit = bytes;
        drop = trim(c);
    }
    for (const Block& b : drop) munmap(b.p, b.len);
}

void* big_alloc(size_t bytes) {
    return bytes >= kHugeFrom ? huge_map(bytes) : ::operator new(bytes, std::align_val_t(64));
}

void big_free(void* p, size_t bytes) noexcept {
    if (!p) return;
    if (bytes >= kHugeFrom)
        huge_unmap(p, bytes);
    else
        ::operator delete(p, std::align_val_t(64));
}

size_t huge_cache_limit() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    return c.limit;
}

}  // namespace ha::cpu
