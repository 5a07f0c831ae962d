// ClusterState: the merged set of signed records one machine holds, with per-owner digests
// kept current on every change. Pure: no clock (callers pass now_ms), no I/O.
//
// Merge per key: the highest HLC wins; an equal HLC with different content (an owner that
// signed two versions at one timestamp) is settled by the larger signature, so every replica
// picks the same one. A record is merged only when its value is well-formed for its kind and
// its signature verifies against its owner; the checks run only for records that would win,
// so duplicates cost a map lookup, not a signature check.
//
// Storage: one slot per owner (its digest entry and its records sorted by (kind, name)), slots
// and records immutable and shared (OwnerSlot, StoredRecord): copying a state copies pointers,
// and with a VerifyMemo every replica in the process holds the one copy of each record version
// and of each owner's slot at each version.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_set>
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
  MergeResult merge(const Record& record, uint64_t now_ms);

  const Record* find(const RecordKey& key) const;
  // The shared copy held for this key (null when none): to keep a record without copying it.
  RecordRef find_ref(const RecordKey& key) const;
  size_t size() const { return size_; }
  uint64_t gc_horizon_ms() const { return gc_horizon_ms_; }

  // All records in key order, or one owner's records.
  void for_each(const std::function<void(const Record&)>& fn) const;
  void for_owner(const OwnerId& owner, const std::function<void(const Record&)>& fn) const;
  // Every record of one kind, by (name, owner): all claims of one /24 side by side. O(records
  // of that kind): the first call builds the list from all records, changes keep it current.
  void for_each_of_kind(Kind kind, const std::function<void(const Record&)>& fn) const;

  // Removes tombstones whose HLC is older than now - horizon; returns their keys.
  std::vector<RecordKey> collect_garbage(uint64_t now_ms);
  // Removes every record not owned by `keep`; returns the removed keys.
  std::vector<RecordKey> drop_all_except(const OwnerId& keep);
  // Removes every record of `owner`; returns the removed keys.
  std::vector<RecordKey> drop_owner(const OwnerId& owner);

  // Every owner's digest entry (built on each call: O(owners)).
  Digest digest() const;
  // digest() == other.digest(), without building either.
  bool same_digest(const ClusterState& other) const;
  // The set hash of every record held: equal states have equal (size, total_hash); unequal
  // ones almost surely differ. O(1): for callers comparing many replicas often.
  SetHash total_hash() const { return total_hash_; }
  // Bumped whenever a record of this kind is added, replaced or removed: lets a caller skip
  // recomputing something derived from one kind (e.g. subnet holders) when nothing changed.
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
  // Hashed: a merge's lookup is one or two cache misses, not a tree walk. Whatever promises an
  // order (for_each, delta_for) sorts the owners first. Slots are immutable and may be shared
  // with other replicas (SlotMemo): a change stores a new one (store()). Keyed by the slot's own
  // owner id (a set, looked up by id): a map would hold a second copy of every id.
  // The id's first 8 bytes ride in the entry: hashing and a mismatch never reach the slot (a
  // cache miss of its own), only a match does.
  struct OwnerEntry {
    uint64_t prefix;
    mutable SlotRef slot;  // replaced in place by a slot of the same owner: the key never changes
  };
  struct OwnerEntryHash {
    using is_transparent = void;
    size_t operator()(const OwnerEntry& e) const noexcept { return static_cast<size_t>(e.prefix); }
    size_t operator()(const OwnerId& id) const noexcept { return IdHash{}(id); }
  };
  struct OwnerEntryEqual {
    using is_transparent = void;
    static uint64_t prefix(const OwnerEntry& e) noexcept { return e.prefix; }
    static uint64_t prefix(const OwnerId& id) noexcept { return id_prefix(id); }
    static const OwnerId& id(const OwnerEntry& e) noexcept { return e.slot->owner; }
    static const OwnerId& id(const OwnerId& id) noexcept { return id; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept { return prefix(a) == prefix(b) && id(a) == id(b); }
  };
  using Owners = std::unordered_set<OwnerEntry, OwnerEntryHash, OwnerEntryEqual>;
  std::vector<const OwnerSlot*> sorted_owners() const;
  // Puts `next` in place of the owner's slot, or adds it when `at` is end (shared through the
  // memo when there is one).
  void store(Owners::iterator at, OwnerSlot&& next);
  // The slot to change in place, when nothing else can see it: no memo (the agent) and no copy
  // of this state holding it. Null otherwise: the change goes to a copy (store()). Saves the
  // agent a copy of an owner's whole record list on every merge.
  OwnerSlot* unshared(const OwnerEntry& entry) const;
  const RecordRef* held(const RecordKey& key) const;
  // Counts a change of one kind (a record gone, added, or one replacing the other: same key)
  // and keeps the by-kind list current when it is built.
  void kind_changed(Kind kind, const Record* gone, const Record* added);
  // The first record of the slot not before (kind, name).
  static std::vector<RecordRef>::const_iterator position(const OwnerSlot& slot, Kind kind, const std::string& name);
  // Removes the records `drop` selects from one slot (and the slot when it empties); their keys
  // are appended to `removed`. Returns the slot's successor.
  template <typename Drop>
  Owners::iterator remove_if(Owners::iterator slot, Drop&& drop, std::vector<RecordKey>& removed);
  bool expired_tombstone(const Record& record, uint64_t now_ms) const {
    return record.tombstone && record.hlc.millis() + gc_horizon_ms_ < now_ms;
  }

  uint64_t gc_horizon_ms_;
  VerifyMemo* verify_memo_;
  std::array<uint64_t, kKindCount> kind_versions_{};
  SetHash total_hash_;
  Owners owners_;
  size_t size_ = 0;
  // Records of each kind by (name, owner), built on the first for_each_of_kind and kept
  // current from then on (by_kind_version_ == kind_versions_ while it is).
  mutable std::array<std::vector<const Record*>, kKindCount> by_kind_;
  mutable std::array<uint64_t, kKindCount> by_kind_version_ = make_unbuilt();
  static std::array<uint64_t, kKindCount> make_unbuilt() {
    std::array<uint64_t, kKindCount> a;
    a.fill(UINT64_MAX);
    return a;
  }
};

}  // namespace weft::crdt
