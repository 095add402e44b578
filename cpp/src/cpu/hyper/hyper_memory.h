// Scratch storage of a HyperAttention call (baseline code only, never the ISA objects).
#pragma once
#include <algorithm>
#include <cstddef>
#include <new>

#include "cpu/huge_alloc.h"

namespace ha::cpu::hyper {

// Growable 64-byte aligned storage.
class Buffer {
public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& o) noexcept : p_(o.p_), n_(o.n_) {
        o.p_ = nullptr;
        o.n_ = 0;
    }
    ~Buffer() { release(); }
    // Large arrays (a call's row states: tens of MB at 64k rows) on huge pages, and reused
    // across calls (huge_alloc.h): as fresh 4 KiB pages their faults were ~7% of a causal
    // call's time with error estimates on the Zen 5 VM.
    void* get(size_t bytes) {
        if (bytes > n_ || !p_) {
            release();
            const size_t n = std::max<size_t>(bytes, 64);
            p_ = big_alloc(n);
            n_ = n;
        }
        return p_;
    }
    char* data() const { return static_cast<char*>(p_); }

private:
    void release() {
        big_free(p_, n_);
        p_ = nullptr;
        n_ = 0;
    }
    void* p_ = nullptr;
    size_t n_ = 0;
};

// An uninitialised array: the big per-call arrays are written in full by parallel phases, so
// zero-filling them first (std::vector) would only add a single-threaded pass over fresh pages.
template <class T>
class Array {
public:
    void resize(size_t n) { p_ = static_cast<T*>(buf_.get(n * sizeof(T))); }
    T* data() const { return p_; }

private:
    Buffer buf_;
    T* p_ = nullptr;
};

}  // namespace ha::cpu::hyper
