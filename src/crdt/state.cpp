#include "crdt/state.hpp"

#include <algorithm>

#include "crdt/signing.hpp"
#include "crdt/values.hpp"

namespace weft::crdt {

const char* merge_result_name(MergeResult result) {
  switch (result) {
    case MergeResult::accepted: return "accepted";
    case MergeResult::duplicate: return "duplicate";
    case MergeResult::stale: return "stale";
    case MergeResult::bad_signature: return "bad_signature";
    case MergeResult::malformed: return "malformed";
    case MergeResult::expired: return "expired";
    case MergeResult::too_far_ahead: return "too_far_ahead";
    case MergeResult::own_record: return "own_record";
    case MergeResult::retired: return "retired";
  }
  return "unknown";
}

std::vector<RecordRef>::const_iterator ClusterState::position(const OwnerSlot& slot, Kind kind,
                                                              const std::string& name) {
  return std::lower_bound(slot.records.begin(), slot.records.end(), std::tie(kind, name),
                          [](const RecordRef& r, const std::tuple<Kind&, const std::string&>& key) {
                            return std::tie(r->record.key.kind, r->record.key.name) < key;
                          });
}

namespace {
bool by_name_then_owner(const Record* a, const Record* b) {
  if (int c = a->key.name.compare(b->key.name); c != 0) return c < 0;
  return compare_ids(a->key.owner, b->key.owner) < 0;
}
}  // namespace

void ClusterState::for_each_of_kind(Kind kind, const std::function<void(const Record&)>& fn) const {
  auto k = static_cast<size_t>(kind);
  auto& list = by_kind_.at(k);
  if (by_kind_version_[k] != kind_versions_[k]) {
    list.clear();
    for (const auto& [prefix, slot] : owners_) {
      auto it = position(*slot, kind, {});
      for (; it != slot->records.end() && (*it)->record.key.kind == kind; ++it) list.push_back(&(*it)->record);
    }
    std::sort(list.begin(), list.end(), by_name_then_owner);
    by_kind_version_[k] = kind_versions_[k];
  }
  for (const Record* r : list) fn(*r);
}

void ClusterState::kind_changed(Kind kind, const Record* gone, const Record* added) {
  auto k = static_cast<size_t>(kind);
  bool kept = by_kind_version_[k] == kind_versions_[k];
  ++kind_versions_[k];
  if (!kept) return;  // not built: the next for_each_of_kind builds it
  auto& list = by_kind_[k];
  auto it = std::lower_bound(list.begin(), list.end(), gone ? gone : added, by_name_then_owner);
  if (gone && (it == list.end() || *it != gone)) return;  // not where it belongs: rebuild later
  if (gone && added) *it = added;
  else if (gone) list.erase(it);
  else list.insert(it, added);
  by_kind_version_[k] = kind_versions_[k];
}

MergeResult ClusterState::merge(const Record& record, uint64_t now_ms) {
  if (!valid_name(record.key.name) || record.value.size() > kMaxValueBytes ||
      static_cast<uint16_t>(record.key.kind) >= kKindCount)
    return MergeResult::malformed;
  auto slot = owners_.find(record.key.owner);
  const RecordRef* held = nullptr;
  size_t at = 0;
  if (slot != owners_.end()) {
    auto it = position(*slot->slot, record.key.kind, record.key.name);
    at = static_cast<size_t>(it - slot->slot->records.begin());
    if (it != slot->slot->records.end() && (*it)->record.key == record.key) held = &*it;
  }
  if (held) {
    const Record& h = (*held)->record;
    if (record.hlc < h.hlc) return MergeResult::stale;
    if (record.hlc == h.hlc) {
      if (record == h) return MergeResult::duplicate;
      if (record.signature <= h.signature) return MergeResult::stale;
    }
  } else if (expired_tombstone(record, now_ms)) {
    return MergeResult::expired;
  }
  RecordRef stored = verify_memo_ ? verify_memo_->find(record) : nullptr;
  if (!stored) {
    if (!check_value(record)) return MergeResult::malformed;
    if (!verify(record)) return MergeResult::bad_signature;
    stored = std::make_shared<const StoredRecord>(StoredRecord{record, record_hash(record)});
    if (verify_memo_) verify_memo_->admit(stored);
  }

  OwnerSlot copy;
  OwnerSlot* own = slot != owners_.end() ? unshared(*slot) : nullptr;
  if (!own) {
    if (slot == owners_.end()) copy.owner = record.key.owner;
    else copy = *slot->slot;
  }
  OwnerSlot& next = own ? *own : copy;
  OwnerDigest& digest = next.digest;
  kind_changed(record.key.kind, held ? &(*held)->record : nullptr, &stored->record);
  if (held) {
    digest.hash -= (*held)->hash;
    total_hash_ -= (*held)->hash;
    next.records[at] = stored;
  } else {
    next.records.insert(next.records.begin() + static_cast<ptrdiff_t>(at), stored);
    ++digest.count;
    ++size_;
  }
  digest.hash += stored->hash;
  total_hash_ += stored->hash;
  if (record.hlc > digest.max) digest.max = record.hlc;
  if (!own) store(slot, std::move(copy));
  return MergeResult::accepted;
}

OwnerSlot* ClusterState::unshared(const OwnerEntry& entry) const {
  // Slots are made non-const (store(), SlotMemo::share), so writing through this is sound.
  return !verify_memo_ && entry.slot.use_count() == 1 ? const_cast<OwnerSlot*>(entry.slot.get()) : nullptr;
}

void ClusterState::store(Owners::iterator at, OwnerSlot&& next) {
  SlotRef made = verify_memo_ ? verify_memo_->slots().share(std::move(next)) : std::make_shared<OwnerSlot>(std::move(next));
  if (at == owners_.end()) owners_.insert(OwnerEntry{id_prefix(made->owner), std::move(made)});
  else at->slot = std::move(made);
}

const RecordRef* ClusterState::held(const RecordKey& key) const {
  auto slot = owners_.find(key.owner);
  if (slot == owners_.end()) return nullptr;
  auto it = position(*slot->slot, key.kind, key.name);
  return it != slot->slot->records.end() && (*it)->record.key == key ? &*it : nullptr;
}

const Record* ClusterState::find(const RecordKey& key) const {
  const RecordRef* ref = held(key);
  return ref ? &(*ref)->record : nullptr;
}

RecordRef ClusterState::find_ref(const RecordKey& key) const {
  const RecordRef* ref = held(key);
  return ref ? *ref : nullptr;
}

std::vector<const OwnerSlot*> ClusterState::sorted_owners() const {
  std::vector<const OwnerSlot*> out;
  out.reserve(owners_.size());
  for (const auto& [prefix, slot] : owners_) out.push_back(slot.get());
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return compare_ids(a->owner, b->owner) < 0; });
  return out;
}

void ClusterState::for_each(const std::function<void(const Record&)>& fn) const {
  for (const OwnerSlot* slot : sorted_owners())
    for (const auto& r : slot->records) fn(r->record);
}

void ClusterState::for_owner(const OwnerId& owner, const std::function<void(const Record&)>& fn) const {
  auto slot = owners_.find(owner);
  if (slot == owners_.end()) return;
  for (const auto& r : slot->slot->records) fn(r->record);
}

Digest ClusterState::digest() const {
  Digest out;
  for (const auto& [prefix, slot] : owners_) out.emplace(slot->owner, slot->digest);
  return out;
}

bool ClusterState::same_digest(const ClusterState& other) const {
  if (owners_.size() != other.owners_.size()) return false;
  for (const auto& [prefix, slot] : owners_) {
    auto theirs = other.owners_.find(slot->owner);
    if (theirs == other.owners_.end() || (theirs->slot != slot && !(theirs->slot->digest == slot->digest)))
      return false;
  }
  return true;
}

template <typename Drop>
ClusterState::Owners::iterator ClusterState::remove_if(Owners::iterator slot, Drop&& drop,
                                                      std::vector<RecordKey>& removed) {
  const OwnerSlot& old = *slot->slot;
  if (std::none_of(old.records.begin(), old.records.end(), [&](const RecordRef& r) { return drop(r->record); }))
    return std::next(slot);
  OwnerSlot next{old.owner, old.digest, {}};
  OwnerDigest& digest = next.digest;
  for (const RecordRef& r : old.records) {
    if (!drop(r->record)) {
      next.records.push_back(r);
      continue;
    }
    removed.push_back(r->record.key);
    digest.hash -= r->hash;
    total_hash_ -= r->hash;
    --digest.count;
    --size_;
    kind_changed(r->record.key.kind, &r->record, nullptr);
  }
  if (next.records.empty()) return owners_.erase(slot);
  digest.max = Hlc{};
  for (const auto& r : next.records) digest.max = std::max(digest.max, r->record.hlc);
  store(slot, std::move(next));
  return std::next(slot);
}

std::vector<RecordKey> ClusterState::collect_garbage(uint64_t now_ms) {
  std::vector<RecordKey> removed;
  for (auto slot = owners_.begin(); slot != owners_.end();)
    slot = remove_if(slot, [&](const Record& r) { return expired_tombstone(r, now_ms); }, removed);
  return removed;
}

std::vector<RecordKey> ClusterState::drop_all_except(const OwnerId& keep) {
  std::vector<RecordKey> removed;
  for (auto slot = owners_.begin(); slot != owners_.end();)
    slot = slot->slot->owner == keep ? std::next(slot) : remove_if(slot, [](const Record&) { return true; }, removed);
  return removed;
}

std::vector<RecordKey> ClusterState::drop_owner(const OwnerId& owner) {
  std::vector<RecordKey> removed;
  auto slot = owners_.find(owner);
  if (slot != owners_.end()) remove_if(slot, [](const Record&) { return true; }, removed);
  return removed;
}

OwnerSummary ClusterState::summary(const OwnerId& owner) const {
  OwnerSummary out{owner, {}};
  for_owner(owner, [&](const Record& r) { out.entries.emplace_back(r.key.kind, r.key.name, r.hlc); });
  return out;
}

ClusterState::DeltaPlan ClusterState::delta_for(const Digest& peer) const {
  DeltaPlan plan;
  for (const OwnerSlot* entry : sorted_owners()) {
    const OwnerSlot& slot = *entry;
    const OwnerId& owner = slot.owner;
    const OwnerDigest& ours = slot.digest;
    auto theirs = peer.find(owner);
    if (theirs != peer.end() && theirs->second == ours) continue;
    if (theirs == peer.end()) {
      for (const auto& r : slot.records) plan.records.push_back(r->record);
      continue;
    }
    const OwnerDigest& p = theirs->second;
    // Does the peer hold exactly our records up to its newest? Then it lacks just the newer ones.
    uint64_t count = 0;
    SetHash prefix;
    for (const auto& r : slot.records)
      if (r->record.hlc <= p.max) {
        ++count;
        prefix += r->hash;
      }
    if (count == p.count && prefix == p.hash) {
      for (const auto& r : slot.records)
        if (r->record.hlc > p.max) plan.records.push_back(r->record);
    } else {
      plan.ambiguous.push_back(owner);
    }
  }
  return plan;
}

std::vector<Record> ClusterState::delta_for(const OwnerSummary& peer) const {
  std::vector<Record> out;
  auto slot = owners_.find(peer.owner);
  if (slot == owners_.end()) return out;
  auto p = peer.entries.begin();
  for (const auto& ref : slot->slot->records) {
    const Record& r = ref->record;
    auto ours = std::tie(r.key.kind, r.key.name);
    while (p != peer.entries.end() && std::tie(std::get<0>(*p), std::get<1>(*p)) < ours) ++p;
    bool peer_has = p != peer.entries.end() && std::tie(std::get<0>(*p), std::get<1>(*p)) == ours;
    if (!peer_has || std::get<2>(*p) < r.hlc) out.push_back(r);
  }
  return out;
}
std::vector<RecordKey> ClusterState::wanted_from(const OwnerSummary& peer) const {
  std::vector<RecordKey> out;
  for (const auto& [kind, name, hlc] : peer.entries) {
    RecordKey key{peer.owner, kind, name};
    const Record* held = find(key);
    if (!held || held->hlc < hlc) out.push_back(std::move(key));
  }
  return out;
}

}  // namespace weft::crdt
