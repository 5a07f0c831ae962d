#include "crdt/replica.hpp"

#include <stdexcept>

#include "crdt/values.hpp"

namespace weft::crdt {

Replica::Replica(const SigningKey& key, ReplicaOptions options, Hlc clock_start)
    : key_(key),
      options_(options),
      clock_(options.max_drift_ms, clock_start),
      state_(options.gc_horizon_ms, options.verify_memo) {}

size_t Replica::restore(std::span<const Record> records, uint64_t now_ms) {
  size_t refused = 0;
  for (const Record& r : records) {
    // Our own clock may have been set back since these were written: move past them all.
    if (r.hlc > clock_.last()) clock_ = HlcClock(options_.max_drift_ms, r.hlc);
    if (state_.merge(r, now_ms) != MergeResult::accepted) ++refused;
  }
  std::vector<Record> removals;
  state_.for_each_of_kind(Kind::machine_removal, [&](const Record& r) {
    if (!r.tombstone) removals.push_back(r);
  });
  for (const auto& r : removals) apply_removal(r);
  return refused;
}

void Replica::apply_removal(const Record& record) {
  auto v = decode_machine_removal(record.value);
  if (!v) return;
  if (v->machine == id()) {
    removed_self_ = true;
    return;
  }
  if (!retired_.insert(v->machine).second) return;
  for (auto& key : state_.drop_owner(v->machine)) changes_.push_back(Change{std::move(key), std::nullopt});
}

Record Replica::sign_and_apply(Record record, uint64_t now_ms) {
  record.key.owner = id();
  record.hlc = clock_.now(now_ms);
  key_.sign(record);
  if (state_.merge(record, now_ms) != MergeResult::accepted)
    throw std::logic_error("own record refused by merge: invalid value for its kind");
  changes_.push_back(Change{record.key, record});
  if (record.key.kind == Kind::machine_removal && !record.tombstone) apply_removal(record);
  return record;
}

Record Replica::put(Kind kind, std::string name, std::string value, uint64_t now_ms) {
  Record r;
  r.key = RecordKey{id(), kind, std::move(name)};
  r.value = std::move(value);
  written_.push_back(sign_and_apply(std::move(r), now_ms));
  return written_.back();
}

std::optional<Record> Replica::erase(Kind kind, const std::string& name, uint64_t now_ms) {
  const Record* held = state_.find(RecordKey{id(), kind, name});
  if (!held || held->tombstone) return std::nullopt;
  Record r;
  r.key = held->key;
  r.tombstone = true;
  written_.push_back(sign_and_apply(std::move(r), now_ms));
  return written_.back();
}

MergeResult Replica::receive_one(const Record& record, uint64_t now_ms,
                                 std::vector<Record>& corrections, std::vector<RecordRef>* accepted) {
  if (retired_.count(record.key.owner)) return MergeResult::retired;
  if (broken_merge_ && state_.find(record.key)) return MergeResult::stale;
  if (clock_.too_far_ahead(record.hlc, now_ms)) return MergeResult::too_far_ahead;
  if (record.key.owner == id()) {
    const Record* held = state_.find(record.key);
    if (held && held->hlc >= record.hlc) return held->hlc == record.hlc && *held == record
                                                    ? MergeResult::duplicate
                                                    : MergeResult::stale;
    if (!verify(record, options_.verify_memo)) return MergeResult::bad_signature;
    // A version in our name we never wrote or no longer hold: restate what we hold, newer.
    clock_.observe(record.hlc, now_ms);
    Record fix;
    fix.key = record.key;
    if (held && !held->tombstone) fix.value = held->value;
    else fix.tombstone = true;
    corrections.push_back(sign_and_apply(std::move(fix), now_ms));
    return MergeResult::own_record;
  }
  MergeResult result = state_.merge(record, now_ms);
  if (result == MergeResult::accepted) {
    clock_.observe(record.hlc, now_ms);
    changes_.push_back(Change{record.key, record});
    if (accepted) accepted->push_back(state_.find_ref(record.key));
    if (record.key.kind == Kind::machine_removal && !record.tombstone) apply_removal(record);
  }
  return result;
}

std::vector<Record> Replica::receive(std::span<const Record> records, uint64_t now_ms,
                                     std::vector<RecordRef>* accepted) {
  std::vector<Record> corrections;
  for (const Record& r : records)
    ++counts_[static_cast<size_t>(receive_one(r, now_ms, corrections, accepted))];
  return corrections;
}

size_t Replica::collect_garbage(uint64_t now_ms) {
  auto removed = state_.collect_garbage(now_ms);
  for (auto& key : removed) changes_.push_back(Change{std::move(key), std::nullopt});
  return removed.size();
}

bool Replica::adopt_if_stale(bool peer_fresh, uint64_t now_ms) {
  if (!peer_fresh || fresh(now_ms)) return false;
  for (auto& key : state_.drop_all_except(id())) changes_.push_back(Change{std::move(key), std::nullopt});
  return true;
}

void Replica::exchange_completed(bool peer_fresh, uint64_t now_ms) {
  if (peer_fresh || !fresh(now_ms)) last_exchange_ms_ = now_ms;
}

}  // namespace weft::crdt
