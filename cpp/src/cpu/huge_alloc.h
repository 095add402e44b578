// An allocator for large working buffers that asks the kernel for transparent huge pages.
// Approximate attention allocates a few hundred MB of row and key buffers per call and
// touches each page once or twice: with 4 KiB pages the first touch of each is a page fault,
// and on virtual machines (where a fault exits to the hypervisor) the faults alone cost as much
// as the attention itself (measured: 570 of 1424 ms in one 32k call on a Zen 5 VM). A 2 MiB
// page faults once for 512 small ones. Where transparent huge pages are off ("never") madvise
// does nothing and this is a plain mmap.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ha::cpu {

inline constexpr size_t kHugePage = size_t(2) << 20;
// Below this, malloc's own pools serve better (and a huge page would be mostly empty).
inline constexpr size_t kHugeFrom = size_t(1) << 20;

// Defined in huge_alloc.cpp (baseline code: the per-ISA kernels call these too, and an inline
// function compiled there would be a weak symbol the linker could hand to baseline callers).
// huge_map throws std::bad_alloc when the mapping fails.
void* huge_map(size_t bytes);
void huge_unmap(void* p, size_t bytes);
// The most bytes of released mappings kept for reuse (ha_set_buffer_cache_limit); lowering it
// unmaps what is above it.
void set_huge_cache_limit(size_t bytes);
size_t huge_cache_limit();

// Storage for a working buffer of `bytes`: huge pages (huge_map) from kHugeFrom on, 64-byte
// aligned operator new below. big_free must get the same byte count back.
void* big_alloc(size_t bytes);
void big_free(void* p, size_t bytes) noexcept;

template <class T>
struct HugeAlloc {
    using value_type = T;
    HugeAlloc() = default;
    template <class U>
    HugeAlloc(const HugeAlloc<U>&) noexcept {}
    T* allocate(size_t n) { return static_cast<T*>(big_alloc(n * sizeof(T))); }
    void deallocate(T* p, size_t n) noexcept { big_free(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const HugeAlloc<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const HugeAlloc<U>&) const noexcept { return false; }
};

// A vector whose large buffers live on huge pages.
template <class T>
using BigVec = std::vector<T, HugeAlloc<T>>;

}  // namespace ha::cpu
