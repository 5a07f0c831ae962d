// Per-owner digests: what anti-entropy compares before shipping records.
//
// An owner's digest is its version-vector entry (highest HLC held), a record count, and a
// 128-bit set hash: the sum, mod 2^128, of a BLAKE2b hash of each record's (key, HLC,
// tombstone). A sum is order-independent and updates in O(1) when one record replaces another.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "crdt/record.hpp"

namespace weft::crdt {

struct SetHash {
  unsigned __int128 value = 0;
  SetHash& operator+=(SetHash o) { value += o.value; return *this; }
  SetHash& operator-=(SetHash o) { value -= o.value; return *this; }
  bool operator==(const SetHash&) const = default;
};

SetHash record_hash(const Record& record);

struct OwnerDigest {
  Hlc max;
  uint64_t count = 0;
  SetHash hash;
  bool operator==(const OwnerDigest&) const = default;
};

using Digest = IdMap<OwnerDigest>;

// A record as a ClusterState holds it: immutable once made, with its set hash computed once.
// Shared: replicas holding the same version hold the same object (the simulator's 1,000
// machines hold one copy of each record, not 1,000; see VerifyMemo).
struct StoredRecord {
  Record record;
  SetHash hash;
};
using RecordRef = std::shared_ptr<const StoredRecord>;

// One owner's records as a ClusterState holds them: its digest entry and its records sorted by
// (kind, name). Immutable once held: a change makes a new slot. Replicas that hold an owner at
// the same version can then hold the same slot (SlotMemo): in a converged simulated cluster a
// thousand machines hold one copy of each owner's slot, not a thousand.
struct OwnerSlot {
  OwnerId owner{};
  OwnerDigest digest;
  std::vector<RecordRef> records;
};
using SlotRef = std::shared_ptr<const OwnerSlot>;

// Hands out one shared copy of each slot content that replicas of one process hold. A slot is
// shared only when it holds the very same record objects (pointer-equal, as the VerifyMemo
// makes them); anything else simply gets its own copy, so results never depend on the memo.
// Remembers slots weakly: a version no replica holds any more is swept. Not thread-safe.
class SlotMemo {
 public:
  SlotRef share(OwnerSlot&& slot);
  size_t size() const { return slots_.size(); }  // remembered, some perhaps expired

 private:
  std::unordered_multimap<uint64_t, std::weak_ptr<const OwnerSlot>> slots_;
  size_t sweep_at_ = 1024;
};

// The (key, HLC) list of one owner's records: sent when digests alone cannot tell which
// records a peer lacks (it holds an older version of something, or lost something).
struct OwnerSummary {
  OwnerId owner{};
  std::vector<std::tuple<Kind, std::string, Hlc>> entries;  // sorted by (kind, name)
};

}  // namespace weft::crdt
