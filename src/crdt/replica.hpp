// Replica: one machine's view of the cluster state. It owns the machine's signing key and
// HLC clock, signs the machine's own writes, merges others' records, and records every change
// it makes as a pending effect for the shell to persist (take_changes()). Pure: the caller
// passes now_ms; no I/O, no threads.
//
// Tombstone GC and machines that were away (the resurrection problem): tombstones are
// collected once older than the GC horizon (default 7 days). A replica that has not completed
// an anti-entropy exchange within the horizon is "stale": it may hold records whose tombstones
// the others have already collected. When a stale replica meets a fresh one it drops every
// record it does not own and takes the fresh peer's state instead of pushing its own (its own
// records it keeps: it is their only writer). A replica also never accepts a record in its own
// name that it does not hold: it answers with a correction (a tombstone, or its current value)
// signed at a newer HLC. Bound on this rule: if two replicas that were both away longer than the
// horizon meet each other before anyone fresh, they trust each other (no fresher view exists).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crdt/hlc.hpp"
#include "crdt/signing.hpp"
#include "crdt/state.hpp"

namespace weft::crdt {

struct ReplicaOptions {
  uint64_t gc_horizon_ms = 7ull * 24 * 3600 * 1000;
  uint64_t max_drift_ms = HlcClock::kDefaultMaxDriftMs;
  VerifyMemo* verify_memo = nullptr;  // the simulator's shared memo; the agent verifies every time
};

// A change to persist: an upsert (record set) or a removal (record unset).
struct Change {
  RecordKey key;
  std::optional<Record> record;
};

class Replica {
 public:
  Replica(const SigningKey& key, ReplicaOptions options = {}, Hlc clock_start = {});

  const OwnerId& id() const { return key_.public_key(); }
  const ClusterState& state() const { return state_; }
  // Test-only switch: received records never replace a version already held (the first version
  // seen wins). Exists so property tests and the simulator can show they catch a broken merge.
  void set_broken_merge_for_tests(bool broken) { broken_merge_ = broken; }
  const HlcClock& clock() const { return clock_; }

  // Loads records persisted earlier (own and others'), verifying each like any merge; the clock
  // moves past every loaded HLC so new writes are newer. Returns how many were refused.
  size_t restore(std::span<const Record> records, uint64_t now_ms);

  // Own writes: sign a new version and apply it. The returned record is also a pending change
  // (to persist) and waits in the outbox (to disseminate): take_written() drains it, in one
  // place per shell, so no write site pairs itself with gossip by hand.
  Record put(Kind kind, std::string name, std::string value, uint64_t now_ms);
  // Tombstones one of our records; nullopt if we hold no live version of it.
  std::optional<Record> erase(Kind kind, const std::string& name, uint64_t now_ms);

  // Others' records (gossip or sync). Records in our own name that we do not hold are answered
  // with corrections, returned here for dissemination (and already applied). Records that
  // changed the state are appended to `accepted` when given (to gossip them on), as the shared
  // copies the state holds.
  std::vector<Record> receive(std::span<const Record> records, uint64_t now_ms,
                              std::vector<RecordRef>* accepted = nullptr);

  // Tombstone GC; removals become pending changes.
  size_t collect_garbage(uint64_t now_ms);

  // Anti-entropy freshness (see the header comment).
  bool fresh(uint64_t now_ms) const {
    return last_exchange_ms_ && now_ms - *last_exchange_ms_ <= options_.gc_horizon_ms;
  }
  std::optional<uint64_t> last_exchange_ms() const { return last_exchange_ms_; }
  void set_last_exchange_ms(std::optional<uint64_t> ms) { last_exchange_ms_ = ms; }
  // Called before merging a peer's state: a stale replica meeting a fresh peer drops what it
  // does not own. Returns true when it did.
  bool adopt_if_stale(bool peer_fresh, uint64_t now_ms);
  // Called when an exchange completes.
  void exchange_completed(bool peer_fresh, uint64_t now_ms);

  // Machines removed from the cluster (machine-removal records): their records are dropped
  // and refused from then on. removed_self() is true when someone removed this machine.
  const std::set<OwnerId>& retired() const { return retired_; }
  bool removed_self() const { return removed_self_; }

  std::vector<Change> take_changes() { return std::exchange(changes_, {}); }
  // Records put() and erase() wrote since the last call, in order (corrections of versions in
  // our name are not here: the sync that provoked them carries them back).
  std::vector<Record> take_written() { return std::exchange(written_, {}); }
  bool has_changes() const { return !changes_.empty(); }

  uint64_t count(MergeResult result) const { return counts_[static_cast<size_t>(result)]; }

 private:
  MergeResult receive_one(const Record& record, uint64_t now_ms, std::vector<Record>& corrections,
                          std::vector<RecordRef>* accepted);
  Record sign_and_apply(Record record, uint64_t now_ms);
  void apply_removal(const Record& record);

  SigningKey key_;
  ReplicaOptions options_;
  HlcClock clock_;
  ClusterState state_;
  std::optional<uint64_t> last_exchange_ms_;
  std::vector<Change> changes_;
  std::vector<Record> written_;
  std::array<uint64_t, kMergeResultCount> counts_{};
  std::set<OwnerId> retired_;
  bool removed_self_ = false;
  bool broken_merge_ = false;
};

}  // namespace weft::crdt
