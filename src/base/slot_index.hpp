// SlotIndex: an open-addressing hash index of slot numbers into a table its owner keeps (a slab
// of items). It stores 4 bytes per cell and nothing else: the owner hashes keys and compares
// items itself, and says how to rehash a slot when the index grows or closes a gap. A node-based
// hash map costs a heap block and a bucket per entry; at 10,000 members on each of 10,000
// simulated nodes that difference decides whether the simulator fits in memory.
//
// Linear probing, at most 3/4 full, deletion by backward shift (no tombstones). Each cell holds
// slot + 1 (0: empty) in its low 24 bits and 8 bits of the hash above, so a probe rarely touches
// an item that is not the one wanted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace weft {

class SlotIndex {
 public:
  static constexpr uint32_t kMaxSlots = (1u << 24) - 1;

  size_t size() const { return size_; }

  // The slot whose item `match(slot)` accepts, among those inserted under `hash`.
  template <typename Match>
  std::optional<uint32_t> find(uint64_t hash, Match&& match) const {
    if (cells_.empty()) return std::nullopt;
    uint32_t tag = tag_of(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      uint32_t c = cells_[i];
      if (c == 0) return std::nullopt;
      if ((c & kTagMask) == tag && match(slot_of(c))) return slot_of(c);
    }
  }

  // Adds `slot` under `hash` (the caller knows it is not there). `hash_of(slot)` rehashes the
  // slots already present when the index grows.
  template <typename HashOf>
  void insert(uint64_t hash, uint32_t slot, HashOf&& hash_of) {
    if (slot >= kMaxSlots) throw std::length_error("SlotIndex: too many slots");
    if ((size_ + 1) * 4 > cells_.size() * 3) grow(hash_of);
    place(hash, slot);
    ++size_;
  }

  // Points the entry of the slot `match` accepts at `slot` instead (same hash: the new item has
  // the key of the old). False when there is no such entry.
  template <typename Match>
  bool replace(uint64_t hash, Match&& match, uint32_t slot) {
    if (cells_.empty()) return false;
    uint32_t tag = tag_of(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      uint32_t c = cells_[i];
      if (c == 0) return false;
      if ((c & kTagMask) == tag && match(slot_of(c))) {
        cells_[i] = tag | (slot + 1);
        return true;
      }
    }
  }

  // Removes `slot`, inserted under `hash`; false when it is not there.
  template <typename HashOf>
  bool erase(uint64_t hash, uint32_t slot, HashOf&& hash_of) {
    if (cells_.empty()) return false;
    size_t i = hash & mask_;
    for (;; i = (i + 1) & mask_) {
      uint32_t c = cells_[i];
      if (c == 0) return false;
      if (slot_of(c) == slot) break;
    }
    // Backward shift: move later entries of the run into the gap when their home allows it.
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      uint32_t c = cells_[j];
      if (c == 0) break;
      size_t home = hash_of(slot_of(c)) & mask_;
      // The entry at j may move to i when its home is not cyclically within (i, j].
      bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (stays) continue;
      cells_[i] = c;
      i = j;
    }
    cells_[i] = 0;
    --size_;
    return true;
  }

  void clear() {
    cells_.clear();
    mask_ = 0;
    size_ = 0;
  }

 private:
  static constexpr uint32_t kTagMask = 0xff000000u;
  static uint32_t tag_of(uint64_t hash) { return static_cast<uint32_t>(hash >> 56) << 24; }
  static uint32_t slot_of(uint32_t cell) { return (cell & ~kTagMask) - 1; }

  void place(uint64_t hash, uint32_t slot) {
    size_t i = hash & mask_;
    while (cells_[i] != 0) i = (i + 1) & mask_;
    cells_[i] = tag_of(hash) | (slot + 1);
  }

  template <typename HashOf>
  void grow(HashOf& hash_of) {
    std::vector<uint32_t> old = std::move(cells_);
    cells_.assign(old.empty() ? 16 : old.size() * 2, 0);
    mask_ = cells_.size() - 1;
    for (uint32_t c : old)
      if (c != 0) place(hash_of(slot_of(c)), slot_of(c));
  }

  std::vector<uint32_t> cells_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace weft
