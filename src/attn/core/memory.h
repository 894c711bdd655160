// Where tensor memory comes from: a cache of freed buffers, in the spirit of PyTorch's caching allocator.
//
// A training step allocates the same buffers every time (activations, gradients, a kernel's scratch) and
// frees them again. glibc returns large blocks to the kernel on free (above its mmap threshold, or when the
// top of the heap grows past its trim threshold), so each new step would page-fault on every 4 KB of them
// again — and the kernel zeroes each page before we write it. Measured on a small ViT step (17 tokens,
// batch 128) that was over a tenth of the step. So buffers of kCacheMinBytes and more are kept when freed,
// keyed by their exact byte size, and handed out again to the next request of that size; the cache holds at
// most kCacheMaxBytes (the least recently freed go back to the system first). Smaller buffers go to malloc,
// which already reuses them.
#pragma once

#include <cstddef>

namespace attn::memory {

constexpr size_t kCacheMinBytes = size_t{1} << 16;  // 64 KB
constexpr size_t kCacheMaxBytes = size_t{2} << 30;  // 2 GB

// `bytes` (a multiple of 64) aligned to a 64-byte cache line, from the cache when a freed buffer of that size
// is there. Not zeroed. nullptr when the system has no memory left.
void* allocate(size_t bytes);
// Gives back a buffer from allocate() with the same `bytes`. nullptr is ignored.
void release(void* p, size_t bytes);

// Bytes held by the cache now (freed, not returned to the system).
size_t cached_bytes();
// Returns every cached buffer to the system (as torch.cuda.empty_cache() does for the GPU's cache).
void empty_cache();

// A float buffer from the cache for a kernel's scratch space, freed when it goes out of scope. Its size
// is rounded up to whole cache lines, and one line more, so vector loads past the end stay inside it.
class ScratchBuffer {
 public:
  explicit ScratchBuffer(size_t floats);
  ~ScratchBuffer() { release(p_, bytes_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  float* data() { return p_; }
  const float* data() const { return p_; }

 private:
  size_t bytes_;
  float* p_;
};

}  // namespace attn::memory
