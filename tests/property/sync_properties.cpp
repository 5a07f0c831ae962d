// Any delivery order, duplication or loss, followed by one anti-entropy exchange, yields
// identical digests; and the delta a replica computes is exactly what its peer lacks.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "crdt/anti_entropy.hpp"
#include "property/generators.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::crdt;
using namespace weft::test;

namespace {

// Delivers a lossy, duplicated, reordered copy of `records` to `to`.
void deliver_badly(Replica& to, const std::vector<Record>& records) {
  std::vector<Record> sent;
  for (const auto& r : records) {
    int copies = *rc::gen::weightedElement<int>({{2, 0}, {5, 1}, {1, 2}});  // lost, once, twice
    for (int i = 0; i < copies; ++i) sent.push_back(r);
  }
  to.receive(shuffled(sent), kT0 + 1000);
}

}  // namespace

RC_GTEST_PROP(SyncProperties, OneExchangeAfterLossyDeliveryConverges, ()) {
  int n = *rc::gen::inRange(1, 5);
  auto writers = make_replicas(n);
  auto ops = *rc::gen::container<std::vector<WriteOp>>(*rc::gen::inRange<size_t>(0, 80), gen_write_op(n));
  auto records = apply_ops(writers, ops, kT0);

  auto x = test_replica(100), y = test_replica(101);
  deliver_badly(x, records);
  deliver_badly(y, records);
  // An observer writes a record of its own too.
  x.put(Kind::service_instance, "mine", service_value("mine", "10.210.9.2"), kT0 + 500);
  bool x_first = *rc::gen::arbitrary<bool>();
  if (x_first) exchange(x, y, kT0 + 2000);
  else exchange(y, x, kT0 + 2000);
  RC_ASSERT(x.state().digest() == y.state().digest());
  RC_ASSERT(x.state().size() == y.state().size());

  // A writer syncing with an observer converges too, and its own records are never corrected
  // away (it never receives a newer version of its own records).
  exchange(writers[0], x, kT0 + 3000);
  RC_ASSERT(writers[0].state().digest() == x.state().digest());
  RC_ASSERT(writers[0].count(MergeResult::own_record) == 0u);
}

RC_GTEST_PROP(SyncProperties, DeltaIsExactlyWhatThePeerLacks, ()) {
  int n = *rc::gen::inRange(1, 4);
  auto writers = make_replicas(n);
  auto ops = *rc::gen::container<std::vector<WriteOp>>(*rc::gen::inRange<size_t>(0, 60), gen_write_op(n));
  auto records = apply_ops(writers, ops, kT0);
  auto full = test_replica(100), partial = test_replica(101);
  full.receive(records, kT0 + 1000);
  deliver_badly(partial, records);

  // What partial lacks: every record of full whose key partial lacks or holds older.
  std::set<std::pair<std::string, uint64_t>> expected;
  full.state().for_each([&](const Record& r) {
    const Record* held = partial.state().find(r.key);
    if (!held || held->hlc < r.hlc) expected.emplace(r.key.name + "@" + std::to_string(r.key.owner[0]), r.hlc.raw);
  });

  auto plan = full.state().delta_for(partial.state().digest());
  std::set<std::pair<std::string, uint64_t>> got;
  auto add = [&](const Record& r) {
    RC_ASSERT(got.emplace(r.key.name + "@" + std::to_string(r.key.owner[0]), r.hlc.raw).second);
  };
  for (const auto& r : plan.records) add(r);
  for (const auto& owner : plan.ambiguous)
    for (const auto& r : full.state().delta_for(partial.state().summary(owner))) add(r);
  RC_ASSERT(got == expected);
}

// The properties above can fail: with the test-only broken merge rule (first version seen wins)
// the same convergence check is refuted.
TEST(SyncProperties, BrokenMergeRuleIsCaught) {
  bool held = rc::check("convergence with a broken merge rule", [] {
    auto writers = make_replicas(2);
    auto ops = *rc::gen::container<std::vector<WriteOp>>(*rc::gen::inRange<size_t>(0, 40), gen_write_op(2));
    auto records = apply_ops(writers, ops, kT0);
    auto x = test_replica(100), y = test_replica(101);
    x.set_broken_merge_for_tests(true);
    y.receive(records, kT0 + 1000);
    x.receive(shuffled(records), kT0 + 1000);
    exchange(x, y, kT0 + 2000);
    RC_ASSERT(x.state().digest() == y.state().digest());
  });
  EXPECT_FALSE(held);
}
