#include "attn/core/memory.h"

#include <cstdlib>
#include <iterator>
#include <list>
#include <mutex>
#include <new>
#include <unordered_map>

namespace attn::memory {

namespace {

struct Block {
  size_t bytes;
  void* p;
};

struct BlockCache {
  std::mutex mu;
  std::list<Block> lru;                                                 // free blocks, most recently freed first
  std::unordered_multimap<size_t, std::list<Block>::iterator> by_size;  // the same blocks, found by size
  size_t cached = 0;                                                    // bytes held in `lru`

  void erase(std::list<Block>::iterator it) {  // caller holds mu
    auto [first, last] = by_size.equal_range(it->bytes);
    for (auto s = first; s != last; ++s)
      if (s->second == it) {
        by_size.erase(s);
        break;
      }
    cached -= it->bytes;
    lru.erase(it);
  }
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;  // never destroyed: tensors in static storage outlive main()
  return *cache;
}

}  // namespace

void* allocate(size_t bytes) {
  if (bytes >= kCacheMinBytes) {
    BlockCache& c = block_cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto found = c.by_size.find(bytes);
    if (found != c.by_size.end()) {
      void* p = found->second->p;
      c.cached -= bytes;
      c.lru.erase(found->second);
      c.by_size.erase(found);
      return p;
    }
  }
  return std::aligned_alloc(64, bytes);
}

void release(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes >= kCacheMinBytes && bytes <= kCacheMaxBytes) {
    BlockCache& c = block_cache();
    std::lock_guard<std::mutex> lock(c.mu);
    while (!c.lru.empty() && c.cached + bytes > kCacheMaxBytes) {  // make room: the oldest first
      void* old = c.lru.back().p;
      c.erase(std::prev(c.lru.end()));
      std::free(old);
    }
    c.lru.push_front({bytes, p});
    c.by_size.emplace(bytes, c.lru.begin());
    c.cached += bytes;
    return;
  }
  std::free(p);
}

size_t cached_bytes() {
  BlockCache& c = block_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

void empty_cache() {
  BlockCache& c = block_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (const Block& b : c.lru) std::free(b.p);
  c.lru.clear();
  c.by_size.clear();
  c.cached = 0;
}

ScratchBuffer::ScratchBuffer(size_t floats)
    : bytes_(((floats * sizeof(float) + 63) / 64) * 64 + 64), p_(static_cast<float*>(allocate(bytes_))) {
  if (p_ == nullptr) throw std::bad_alloc();
}

}  // namespace attn::memory
