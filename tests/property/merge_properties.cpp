// Merge is a join: commutative, associative, idempotent; forged or tampered records never merge.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "crdt/signing.hpp"
#include "property/generators.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::crdt;
using namespace weft::test;

namespace {

std::vector<Record> history(int writers_count) {
  auto writers = make_replicas(writers_count);
  auto ops = *rc::gen::container<std::vector<WriteOp>>(*rc::gen::inRange<size_t>(1, 60), gen_write_op(writers_count));
  return apply_ops(writers, ops, kT0);
}

Digest merged_digest(const std::vector<Record>& records) {
  auto observer = test_replica(200);
  observer.receive(records, kT0 + 1000);
  return observer.state().digest();
}

void merge_state(Replica& into, const Replica& from) {
  std::vector<Record> all;
  from.state().for_each([&](const Record& r) { all.push_back(r); });
  into.receive(all, kT0 + 1000);
}

}  // namespace

RC_GTEST_PROP(MergeProperties, OrderDoesNotMatter, ()) {
  auto records = history(3);
  RC_ASSERT(merged_digest(records) == merged_digest(shuffled(records)));
}

RC_GTEST_PROP(MergeProperties, CommutativeAndAssociativeOverStates, ()) {
  auto records = history(3);
  // Split the history among three partial states.
  auto owner_of = *rc::gen::container<std::vector<int>>(records.size(), rc::gen::inRange(0, 3));
  std::vector<Replica> parts = make_replicas(3, 100);
  for (size_t i = 0; i < records.size(); ++i) parts[owner_of[i]].receive(std::vector{records[i]}, kT0 + 1000);

  auto ab = test_replica(150), ba = test_replica(150);
  merge_state(ab, parts[0]);
  merge_state(ab, parts[1]);
  merge_state(ba, parts[1]);
  merge_state(ba, parts[0]);
  RC_ASSERT(ab.state().digest() == ba.state().digest());

  // (a ∪ b) ∪ c == a ∪ (b ∪ c)
  auto left = test_replica(151), bc = test_replica(152), right = test_replica(151);
  merge_state(left, ab);
  merge_state(left, parts[2]);
  merge_state(bc, parts[1]);
  merge_state(bc, parts[2]);
  merge_state(right, parts[0]);
  merge_state(right, bc);
  RC_ASSERT(left.state().digest() == right.state().digest());
  RC_ASSERT(left.state().digest() == merged_digest(records));
}

RC_GTEST_PROP(MergeProperties, Idempotent, ()) {
  auto records = history(2);
  auto once = test_replica(200);
  once.receive(records, kT0 + 1000);
  auto before = once.state().digest();
  RC_ASSERT(once.receive(records, kT0 + 1000).empty());
  RC_ASSERT(once.state().digest() == before);
  RC_ASSERT(once.take_changes().size() <= records.size());
}

RC_GTEST_PROP(MergeProperties, TamperedOrForgedRecordsAreRejected, ()) {
  auto records = history(2);
  RC_PRE(!records.empty());
  Record r = *rc::gen::elementOf(records);
  int how = *rc::gen::inRange(0, 6);
  switch (how) {
    case 0: r.hlc = Hlc{r.hlc.raw + *rc::gen::inRange<uint64_t>(1, 1000)}; break;    // altered HLC
    case 1: r.hlc = Hlc{r.hlc.raw - *rc::gen::inRange<uint64_t>(1, 1000)}; break;
    case 2:                                                                           // altered value
      if (r.tombstone) { r.tombstone = false; r.value = service_value("x", "10.210.1.2"); }
      else r.value = service_value("evil", "10.210.66.6");
      break;
    case 3: r.key.owner = test_key(77).public_key(); break;                          // wrong owner key
    case 4: test_key(78).sign(r); break;                                             // forged by another key
    case 5: r.tombstone = !r.tombstone; r.value.clear(); break;                      // flipped delete
  }
  auto observer = test_replica(200);
  observer.receive(std::vector{r}, kT0 + 1000);
  RC_ASSERT(observer.state().size() == 0u);
  RC_ASSERT(observer.count(MergeResult::bad_signature) + observer.count(MergeResult::malformed) == 1u);
}
