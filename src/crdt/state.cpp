#include "crdt/state.hpp"

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

ClusterState::ClusterState(const ClusterState& other)
    : gc_horizon_ms_(other.gc_horizon_ms_),
      verify_memo_(other.verify_memo_),
      kind_versions_(other.kind_versions_),
      total_hash_(other.total_hash_),
      records_(other.records_),
      digest_(other.digest_) {
  rebuild_index();
}

ClusterState& ClusterState::operator=(const ClusterState& other) {
  if (this == &other) return *this;
  gc_horizon_ms_ = other.gc_horizon_ms_;
  verify_memo_ = other.verify_memo_;
  kind_versions_ = other.kind_versions_;
  total_hash_ = other.total_hash_;
  records_ = other.records_;
  digest_ = other.digest_;
  rebuild_index();
  return *this;
}

void ClusterState::rebuild_index() {
  for (auto& set : by_kind_) set.clear();
  for (const auto& node : records_) index(node);
}

void ClusterState::for_each_of_kind(Kind kind, const std::function<void(const Record&)>& fn) const {
  for (const Node* node : by_kind_.at(static_cast<size_t>(kind))) fn(node->second.record);
}

MergeResult ClusterState::merge(const Record& record, uint64_t now_ms) {
  if (!valid_name(record.key.name) || record.value.size() > kMaxValueBytes ||
      static_cast<uint16_t>(record.key.kind) >= kKindCount)
    return MergeResult::malformed;
  auto it = records_.find(record.key);
  if (it != records_.end()) {
    const Record& held = it->second.record;
    if (record.hlc < held.hlc) return MergeResult::stale;
    if (record.hlc == held.hlc) {
      if (record == held) return MergeResult::duplicate;
      if (record.signature <= held.signature) return MergeResult::stale;
    }
  } else if (expired_tombstone(record, now_ms)) {
    return MergeResult::expired;
  }
  if (!check_value(record)) return MergeResult::malformed;
  if (!verify(record, verify_memo_)) return MergeResult::bad_signature;

  SetHash hash = record_hash(record);
  OwnerDigest& owner = digest_[record.key.owner];
  if (it != records_.end()) {
    owner.hash -= it->second.hash;
    total_hash_ -= it->second.hash;
    it->second = Entry{record, hash};
    ++kind_versions_[static_cast<size_t>(record.key.kind)];
  } else {
    index(*records_.emplace(record.key, Entry{record, hash}).first);
    ++kind_versions_[static_cast<size_t>(record.key.kind)];
    ++owner.count;
  }
  owner.hash += hash;
  total_hash_ += hash;
  if (record.hlc > owner.max) owner.max = record.hlc;
  return MergeResult::accepted;
}

const Record* ClusterState::find(const RecordKey& key) const {
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : &it->second.record;
}

void ClusterState::for_each(const std::function<void(const Record&)>& fn) const {
  for (const auto& [key, entry] : records_) fn(entry.record);
}

std::pair<ClusterState::Map::const_iterator, ClusterState::Map::const_iterator>
ClusterState::owner_range(const OwnerId& owner) const {
  // Kind 0xffff sorts after every real kind: the end of this owner's range.
  return {records_.lower_bound(RecordKey{owner, Kind::machine, {}}),
          records_.lower_bound(RecordKey{owner, static_cast<Kind>(0xffff), {}})};
}

void ClusterState::for_owner(const OwnerId& owner,
                             const std::function<void(const Record&)>& fn) const {
  auto [first, last] = owner_range(owner);
  for (auto it = first; it != last; ++it) fn(it->second.record);
}

void ClusterState::erase(Map::iterator it) {
  auto d = digest_.find(it->first.owner);
  d->second.hash -= it->second.hash;
  total_hash_ -= it->second.hash;
  if (--d->second.count == 0) digest_.erase(d);
  ++kind_versions_[static_cast<size_t>(it->first.kind)];
  by_kind_[static_cast<size_t>(it->first.kind)].erase(&*it);
  records_.erase(it);
}

void ClusterState::recompute_max(const OwnerId& owner) {
  auto d = digest_.find(owner);
  if (d == digest_.end()) return;
  Hlc max;
  for_owner(owner, [&](const Record& r) { max = std::max(max, r.hlc); });
  d->second.max = max;
}

std::vector<RecordKey> ClusterState::collect_garbage(uint64_t now_ms) {
  std::vector<RecordKey> removed;
  for (auto it = records_.begin(); it != records_.end();) {
    auto next = std::next(it);
    if (expired_tombstone(it->second.record, now_ms)) {
      removed.push_back(it->first);
      erase(it);
    }
    it = next;
  }
  for (size_t i = 0; i < removed.size(); ++i)
    if (i == 0 || removed[i].owner != removed[i - 1].owner) recompute_max(removed[i].owner);
  return removed;
}

std::vector<RecordKey> ClusterState::drop_all_except(const OwnerId& keep) {
  std::vector<RecordKey> removed;
  for (auto it = records_.begin(); it != records_.end();) {
    auto next = std::next(it);
    if (it->first.owner != keep) {
      removed.push_back(it->first);
      erase(it);
    }
    it = next;
  }
  return removed;
}

std::vector<RecordKey> ClusterState::drop_owner(const OwnerId& owner) {
  std::vector<RecordKey> removed;
  auto [first, last] = owner_range(owner);
  for (auto it = first; it != last; ++it) removed.push_back(it->first);
  for (const auto& key : removed) erase(records_.find(key));
  return removed;
}

OwnerSummary ClusterState::summary(const OwnerId& owner) const {
  OwnerSummary out{owner, {}};
  for_owner(owner, [&](const Record& r) { out.entries.emplace_back(r.key.kind, r.key.name, r.hlc); });
  return out;
}

ClusterState::DeltaPlan ClusterState::delta_for(const Digest& peer) const {
  DeltaPlan plan;
  for (const auto& [owner, ours] : digest_) {
    auto theirs = peer.find(owner);
    if (theirs != peer.end() && theirs->second == ours) continue;
    auto [first, last] = owner_range(owner);
    if (theirs == peer.end()) {
      for (auto it = first; it != last; ++it) plan.records.push_back(it->second.record);
      continue;
    }
    const OwnerDigest& p = theirs->second;
    // Does the peer hold exactly our records up to its newest? Then it lacks just the newer ones.
    uint64_t count = 0;
    SetHash prefix;
    for (auto it = first; it != last; ++it)
      if (it->second.record.hlc <= p.max) {
        ++count;
        prefix += it->second.hash;
      }
    if (count == p.count && prefix == p.hash) {
      for (auto it = first; it != last; ++it)
        if (it->second.record.hlc > p.max) plan.records.push_back(it->second.record);
    } else {
      plan.ambiguous.push_back(owner);
    }
  }
  return plan;
}

std::vector<Record> ClusterState::delta_for(const OwnerSummary& peer) const {
  std::vector<Record> out;
  auto [it, last] = owner_range(peer.owner);
  auto p = peer.entries.begin();
  for (; it != last; ++it) {
    const Record& r = it->second.record;
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
