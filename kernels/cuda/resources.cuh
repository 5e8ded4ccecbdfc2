// RAII owners of the CUDA resources the backend uses (not installed): device and pinned host buffers,
// streams and events. Move-only; each releases its resource in the destructor, ignoring errors there (a
// destructor must not throw; the failing call before it already did). Allocation failures are
// ResourceErrors naming what was allocated.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <utility>

#include "check.cuh"

namespace segstream::kernels::cuda {

namespace detail {

struct DeviceMemory {
  static void* allocate(std::size_t bytes, const char* what) {
    void* p = nullptr;
    check(cudaMalloc(&p, bytes), what);
    return p;
  }
  static void release(void* p) noexcept { (void)cudaFree(p); }
};

struct PinnedMemory {
  static void* allocate(std::size_t bytes, const char* what) {
    void* p = nullptr;
    check(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), what);
    return p;
  }
  static void release(void* p) noexcept { (void)cudaFreeHost(p); }
};

// `count` elements of T from Memory (at least one, so the pointer is never null).
template <class T, class Memory>
class Buffer {
 public:
  Buffer() = default;
  Buffer(std::size_t count, const char* what)
      : p_(static_cast<T*>(Memory::allocate(std::max<std::size_t>(count, 1) * sizeof(T), what))),
        count_(count) {}
  Buffer(Buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }

  T* get() const { return p_; }
  std::size_t size() const { return count_; }

 private:
  void reset() noexcept {
    if (p_ != nullptr) Memory::release(p_);
    p_ = nullptr;
  }
  T* p_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace detail

// `count` elements of T in device memory.
template <class T>
using DeviceBuffer = detail::Buffer<T, detail::DeviceMemory>;

// `count` elements of T in page-locked host memory, which the copy engines read and write directly.
template <class T>
using PinnedBuffer = detail::Buffer<T, detail::PinnedMemory>;

// A non-blocking stream: it does not wait for the legacy default stream.
class Stream {
 public:
  Stream() { check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "create a stream"); }
  Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream& operator=(Stream&&) = delete;
  ~Stream() {
    if (s_ != nullptr) {
      (void)cudaStreamSynchronize(s_);
      (void)cudaStreamDestroy(s_);
    }
  }
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

// An event for ordering work between streams and the host (no timing unless asked).
class Event {
 public:
  explicit Event(bool timing = false) {
    check(cudaEventCreateWithFlags(&e_, timing ? cudaEventDefault : cudaEventDisableTiming),
          "create an event");
  }
  Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event& operator=(Event&&) = delete;
  ~Event() {
    if (e_ != nullptr) (void)cudaEventDestroy(e_);
  }
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

}  // namespace segstream::kernels::cuda
