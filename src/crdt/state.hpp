// ClusterState: the merged set of signed records one machine holds, with per-owner digests
// kept current on every change. Pure: no clock (callers pass now_ms), no I/O.
//
// Merge per key: the highest HLC wins; an equal HLC with different content (an owner that
// signed two versions at one timestamp) is settled by the larger signature, so every replica
// picks the same one. A record is merged only when its value is well-formed for its kind and
// its signature verifies against its owner; the checks run only for records that would win,
// so duplicates cost a map lookup, not a signature check.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "crdt/digest.hpp"
#include "crdt/record.hpp"
#include "crdt/signing.hpp"

namespace weft::crdt {

enum class MergeResult : uint8_t {
  accepted,         // new key or newer version: state changed
  duplicate,        // already held
  stale,            // an older version than held
  bad_signature,    // signature does not verify against the owner: dropped
  malformed,        // value not well-formed for its kind, or oversized: dropped
  expired,          // a tombstone older than the GC horizon: nothing to delete any more
  too_far_ahead,    // HLC beyond our clock's drift bound (Replica): held back
  own_record,       // a record in our name we do not hold (Replica): answered with a correction
  retired,          // its owner was removed from the cluster (machine rm): refused for good
};
inline constexpr size_t kMergeResultCount = 9;
const char* merge_result_name(MergeResult result);

class ClusterState {
 public:
  explicit ClusterState(uint64_t gc_horizon_ms, VerifyMemo* verify_memo = nullptr)
      : gc_horizon_ms_(gc_horizon_ms), verify_memo_(verify_memo) {}
  ClusterState(const ClusterState& other);
  ClusterState& operator=(const ClusterState& other);
  ClusterState(ClusterState&&) = default;  // map nodes move with the map: the index stays valid
  ClusterState& operator=(ClusterState&&) = default;

  MergeResult merge(const Record& record, uint64_t now_ms);

  const Record* find(const RecordKey& key) const;
  size_t size() const { return records_.size(); }
  uint64_t gc_horizon_ms() const { return gc_horizon_ms_; }

  // All records in key order, or one owner's records.
  void for_each(const std::function<void(const Record&)>& fn) const;
  void for_owner(const OwnerId& owner, const std::function<void(const Record&)>& fn) const;
  // Every record of one kind, by (name, owner): all claims of one /24 side by side. O(records
  // of that kind), not O(all records).
  void for_each_of_kind(Kind kind, const std::function<void(const Record&)>& fn) const;

  // Removes tombstones whose HLC is older than now - horizon; returns their keys.
  std::vector<RecordKey> collect_garbage(uint64_t now_ms);
  // Removes every record not owned by `keep`; returns the removed keys.
  std::vector<RecordKey> drop_all_except(const OwnerId& keep);
  // Removes every record of `owner`; returns the removed keys.
  std::vector<RecordKey> drop_owner(const OwnerId& owner);

  const Digest& digest() const { return digest_; }
  // Bumped whenever a record of this kind is added, replaced or removed: lets a caller skip
  // recomputing something derived from one kind (e.g. subnet holders) when nothing changed.
  // The set hash of every record held: equal states have equal (size, total_hash); unequal
  // ones almost surely differ. O(1): for callers comparing many replicas often.
  SetHash total_hash() const { return total_hash_; }
  uint64_t kind_version(Kind kind) const { return kind_versions_[static_cast<size_t>(kind)]; }
  OwnerSummary summary(const OwnerId& owner) const;

  // What a peer with digest `peer` lacks. Owners where the digest alone cannot tell (the peer
  // holds an older version of a record, or has holes) are listed in `ambiguous`: answer those
  // with delta_for(summary) once the peer's summary is known.
  struct DeltaPlan {
    std::vector<Record> records;
    std::vector<OwnerId> ambiguous;
  };
  DeltaPlan delta_for(const Digest& peer) const;
  // Exactly the records of summary.owner that the peer lacks or holds an older version of.
  std::vector<Record> delta_for(const OwnerSummary& peer) const;
  // Keys in the peer's summary that we lack or hold an older version of.
  std::vector<RecordKey> wanted_from(const OwnerSummary& peer) const;

 private:
  struct Entry {
    Record record;
    SetHash hash;
  };
  using Map = std::map<RecordKey, Entry>;
  std::pair<Map::const_iterator, Map::const_iterator> owner_range(const OwnerId& owner) const;
  void erase(Map::iterator it);
  void recompute_max(const OwnerId& owner);
  bool expired_tombstone(const Record& record, uint64_t now_ms) const {
    return record.tombstone && record.hlc.millis() + gc_horizon_ms_ < now_ms;
  }

  using Node = Map::value_type;
  struct ByName {
    bool operator()(const Node* a, const Node* b) const {
      return std::tie(a->first.name, a->first.owner) < std::tie(b->first.name, b->first.owner);
    }
  };
  void index(const Node& node) { by_kind_[static_cast<size_t>(node.first.kind)].insert(&node); }
  void rebuild_index();

  uint64_t gc_horizon_ms_;
  VerifyMemo* verify_memo_;
  std::array<uint64_t, kKindCount> kind_versions_{};
  SetHash total_hash_;
  Map records_;
  // Keys (owned by records_' nodes) per kind, by (name, owner).
  std::array<std::set<const Node*, ByName>, kKindCount> by_kind_;
  Digest digest_;
};

}  // namespace weft::crdt
