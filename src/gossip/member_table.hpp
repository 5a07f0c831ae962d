// MemberTable: the members one machine knows, found by id and by control address. Members live
// in a slab (their addresses never move, so other structures may point at them; a removed
// member's place is reused) with two SlotIndexes over it. About 90 bytes per member, where a
// node-based map by id and another by address took about 220.
//
// The address index maps each control address to one member: the member that claimed it last
// (see Membership, which decides who holds an address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include "base/slot_index.hpp"
#include "base/text_pool.hpp"
#include "gossip/messages.hpp"

namespace weft::gossip {

struct Member {
  MemberId id{};
  Text name;     // interned: members of one table (and in the simulator, of every node's) share
  Text address;  // one copy of each string
  uint64_t incarnation = 0;
  uint64_t state_since_ms = 0;
  MemberState state = MemberState::alive;
  uint32_t slot = 0;  // its place in the MemberTable that holds it (set by the table)
};

class MemberTable {
 public:
  MemberTable() = default;
  MemberTable(const MemberTable&) = delete;  // others point into the slab
  MemberTable& operator=(const MemberTable&) = delete;

  size_t size() const { return by_id_.size(); }
  bool contains(const MemberId& id) const { return find(id) != nullptr; }
  const Member* find(const MemberId& id) const;
  Member* find(const MemberId& id);
  // The member with this id; throws std::out_of_range when there is none.
  const Member& at(const MemberId& id) const;
  Member& at(const MemberId& id);

  // Adds a member whose id is not in the table yet. Its address is not indexed until claimed.
  Member& insert(Member m);
  // Removes a member (its address entry too, when it holds one). `m` points into this table.
  void erase(const Member& m);

  // The member holding this control address, if any.
  const Member* by_address(std::string_view address) const;
  // `m` holds its address from now on (taking it over from whoever held it).
  void claim_address(const Member& m);
  // `m` gives up its address entry, when it holds it (before its address changes).
  void release_address(const Member& m);

  // Every member, in slab order (deterministic: it depends only on the order of inserts and
  // erases).
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Member;
    using difference_type = std::ptrdiff_t;
    using pointer = const Member*;
    using reference = const Member&;
    const_iterator() = default;
    const_iterator(const MemberTable* t, size_t i) : t_(t), i_(i) { skip(); }
    const Member& operator*() const { return t_->slot(i_); }
    const Member* operator->() const { return &t_->slot(i_); }
    const_iterator& operator++() {
      ++i_;
      skip();
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator was = *this;
      ++*this;
      return was;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }

   private:
    void skip() {
      while (i_ < t_->used_.size() && !t_->used_[i_]) ++i_;
    }
    const MemberTable* t_ = nullptr;
    size_t i_ = 0;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, used_.size()}; }

 private:
  static uint64_t id_hash(const MemberId& id);
  static uint64_t address_hash(std::string_view address);
  std::optional<uint32_t> find_slot(const MemberId& id) const;

  // The slab: chunks of a power-of-two size (a slot's place is a shift and a mask away), never
  // moved once allocated.
  static constexpr unsigned kChunkBits = 6;
  Member& slot(size_t i) { return chunks_[i >> kChunkBits][i & ((1u << kChunkBits) - 1)]; }
  const Member& slot(size_t i) const { return chunks_[i >> kChunkBits][i & ((1u << kChunkBits) - 1)]; }
  std::vector<std::unique_ptr<Member[]>> chunks_;
  std::vector<bool> used_;  // one per slot made so far
  std::vector<uint32_t> free_;
  SlotIndex by_id_, by_address_;
};

}  // namespace weft::gossip
