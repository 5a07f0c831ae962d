#include "gossip/member_table.hpp"

#include <functional>
#include <stdexcept>

namespace weft::gossip {

uint64_t MemberTable::id_hash(const MemberId& id) { return crdt::id_prefix(id); }

uint64_t MemberTable::address_hash(std::string_view address) { return std::hash<std::string_view>{}(address); }

std::optional<uint32_t> MemberTable::find_slot(const MemberId& id) const {
  return by_id_.find(id_hash(id), [&](uint32_t s) { return crdt::IdEqual{}(slot(s).id, id); });
}

const Member* MemberTable::find(const MemberId& id) const {
  auto s = find_slot(id);
  return s ? &slot(*s) : nullptr;
}

Member* MemberTable::find(const MemberId& id) {
  auto s = find_slot(id);
  return s ? &slot(*s) : nullptr;
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
  uint32_t at;
  if (!free_.empty()) {
    at = free_.back();
    free_.pop_back();
  } else {
    if (used_.size() >= SlotIndex::kMaxSlots) throw std::length_error("MemberTable: too many members");
    at = static_cast<uint32_t>(used_.size());
    if ((at >> kChunkBits) == chunks_.size()) chunks_.push_back(std::make_unique<Member[]>(size_t{1} << kChunkBits));
    used_.push_back(false);
  }
  m.slot = at;
  slot(at) = std::move(m);
  used_[at] = true;
  by_id_.insert(id_hash(slot(at).id), at, [&](uint32_t s) { return id_hash(slot(s).id); });
  return slot(at);
}

void MemberTable::erase(const Member& m) {
  uint32_t at = m.slot;
  release_address(m);
  by_id_.erase(id_hash(m.id), at, [&](uint32_t s) { return id_hash(slot(s).id); });
  slot(at) = Member{};  // drops its interned strings now
  used_[at] = false;
  free_.push_back(at);
}

const Member* MemberTable::by_address(std::string_view address) const {
  auto s = by_address_.find(address_hash(address), [&](uint32_t s) { return slot(s).address.view() == address; });
  return s ? &slot(*s) : nullptr;
}

void MemberTable::claim_address(const Member& m) {
  std::string_view address = m.address.view();
  uint64_t h = address_hash(address);
  if (!by_address_.replace(h, [&](uint32_t s) { return slot(s).address.view() == address; }, m.slot))
    by_address_.insert(h, m.slot, [&](uint32_t s) { return address_hash(slot(s).address.view()); });
}

void MemberTable::release_address(const Member& m) {
  std::string_view address = m.address.view();
  if (by_address(address) == &m)
    by_address_.erase(address_hash(address), m.slot, [&](uint32_t s) { return address_hash(slot(s).address.view()); });
}

}  // namespace weft::gossip
