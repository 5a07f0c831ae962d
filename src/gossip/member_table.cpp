#include "gossip/member_table.hpp"

#include <functional>
#include <stdexcept>

namespace weft::gossip {

uint64_t MemberTable::id_hash(const MemberId& id) { return crdt::id_prefix(id); }

uint64_t MemberTable::address_hash(std::string_view address) { return std::hash<std::string_view>{}(address); }

std::optional<uint32_t> MemberTable::find_slot(const MemberId& id) const {
  return by_id_.find(id_hash(id), [&](uint32_t s) { return crdt::IdEqual{}(slab_[s].id, id); });
}

const Member* MemberTable::find(const MemberId& id) const {
  auto s = find_slot(id);
  return s ? &slab_[*s] : nullptr;
}

Member* MemberTable::find(const MemberId& id) {
  auto s = find_slot(id);
  return s ? &slab_[*s] : nullptr;
}

const Member& MemberTable::at(const MemberId& id) const {
  if (const Member* m = find(id)) return *m;
  throw std::out_of_range("MemberTable: no such member");
}

Member& MemberTable::at(const MemberId& id) {
  if (Member* m = find(id)) return *m;
  throw std::out_of_range("MemberTable: no such member");
}

Member& MemberTable::insert(Member m) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (slab_.size() >= SlotIndex::kMaxSlots) throw std::length_error("MemberTable: too many members");
    slot = static_cast<uint32_t>(slab_.size());
    slab_.emplace_back();
    used_.push_back(false);
  }
  m.slot = slot;
  slab_[slot] = std::move(m);
  used_[slot] = true;
  by_id_.insert(id_hash(slab_[slot].id), slot, [&](uint32_t s) { return id_hash(slab_[s].id); });
  return slab_[slot];
}

void MemberTable::erase(const Member& m) {
  uint32_t slot = m.slot;
  release_address(m);
  by_id_.erase(id_hash(m.id), slot, [&](uint32_t s) { return id_hash(slab_[s].id); });
  slab_[slot] = Member{};  // drops its interned strings now
  used_[slot] = false;
  free_.push_back(slot);
}

const Member* MemberTable::by_address(std::string_view address) const {
  auto s = by_address_.find(address_hash(address), [&](uint32_t s) { return slab_[s].address.view() == address; });
  return s ? &slab_[*s] : nullptr;
}

void MemberTable::claim_address(const Member& m) {
  std::string_view address = m.address.view();
  uint64_t h = address_hash(address);
  if (!by_address_.replace(h, [&](uint32_t s) { return slab_[s].address.view() == address; }, m.slot))
    by_address_.insert(h, m.slot, [&](uint32_t s) { return address_hash(slab_[s].address.view()); });
}

void MemberTable::release_address(const Member& m) {
  std::string_view address = m.address.view();
  if (by_address(address) == &m)
    by_address_.erase(address_hash(address), m.slot, [&](uint32_t s) { return address_hash(slab_[s].address.view()); });
}

}  // namespace weft::gossip
