#include <gtest/gtest.h>

#include "crdt/anti_entropy.hpp"
#include "crdt/replica.hpp"
#include "crdt/subnet.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::crdt;

namespace {

constexpr uint64_t kDay = 24ull * 3600 * 1000;
constexpr uint64_t kT0 = 1'700'000'000'000;  // a plausible unix-ms "now"

// The digest recomputed from scratch: what the incremental one must equal.
Digest recomputed(const ClusterState& state) {
  Digest d;
  state.for_each([&](const Record& r) {
    auto& o = d[r.key.owner];
    ++o.count;
    o.hash += record_hash(r);
    o.max = std::max(o.max, r.hlc);
  });
  return d;
}

}  // namespace

TEST(ClusterState, HighestHlcWins) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  Record v1 = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  Record v2 = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.3"), kT0 + 1);
  EXPECT_TRUE(b.receive(std::vector{v2}, kT0).empty());
  b.receive(std::vector{v1}, kT0);
  EXPECT_EQ(b.state().find(v1.key)->value, v2.value);
  EXPECT_EQ(b.count(MergeResult::accepted), 1u);
  EXPECT_EQ(b.count(MergeResult::stale), 1u);
  b.receive(std::vector{v2}, kT0);
  EXPECT_EQ(b.count(MergeResult::duplicate), 1u);
}

TEST(ClusterState, ForgedAndTamperedRecordsAreCountedNeverMerged) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  auto mallory = test::test_key(9);
  Record good = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);

  Record forged = good;  // mallory signs a record in a's name
  mallory.sign(forged);
  Record altered = good;
  altered.value = test::service_value("api", "10.210.9.9");
  Record bumped = good;  // a replayed record with a raised HLC to win the merge
  bumped.hlc = Hlc{good.hlc.raw + 100};
  b.receive(std::vector{forged, altered, bumped}, kT0);
  EXPECT_EQ(b.count(MergeResult::bad_signature), 3u);
  EXPECT_EQ(b.state().size(), 0u);
  b.receive(std::vector{good}, kT0);
  EXPECT_EQ(b.state().size(), 1u);
}

// Replicas sharing a memo (the simulator's) hold one copy of each record version, and the memo
// never lets a record through on its signature alone: a tampered copy that carries the good
// record's signature is checked, refused, and does not disturb the good one.
TEST(ClusterState, ReplicasSharingAMemoShareRecordsButEveryByteIsChecked) {
  VerifyMemo memo;
  ReplicaOptions options;
  options.verify_memo = &memo;
  auto a = test::test_replica(1);
  auto b = test::test_replica(2, options);
  auto c = test::test_replica(3, options);
  Record good = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  Record altered = good;
  altered.value = test::service_value("api", "10.210.9.9");
  b.receive(std::vector{good}, kT0);
  c.receive(std::vector{altered, good}, kT0);
  EXPECT_EQ(c.count(MergeResult::bad_signature), 1u);
  ASSERT_EQ(c.state().size(), 1u);
  EXPECT_EQ(c.state().find(good.key), b.state().find(good.key));  // the same object
  EXPECT_EQ(*c.state().find(good.key), good);
  EXPECT_EQ(memo.size(), 1u);
  // A copy of a replica's state shares the records too, and changes apart from it.
  ClusterState copy = c.state();
  EXPECT_EQ(copy.find(good.key), c.state().find(good.key));
  Record newer = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.3"), kT0 + 1);
  EXPECT_EQ(copy.merge(newer, kT0 + 1), MergeResult::accepted);
  EXPECT_EQ(copy.find(good.key)->value, newer.value);
  EXPECT_EQ(c.state().find(good.key)->value, good.value);
}

// States sharing a memo share each owner's slot while they hold it at the same version; a change
// to one (a newer record, a tombstone collected, an owner dropped) makes it a new slot and never
// shows in the other. Each stays equal to a state that shares nothing and saw the same merges.
TEST(ClusterState, SharedOwnerSlotsChangeApart) {
  VerifyMemo memo;
  ClusterState x(7 * kDay, &memo), y(7 * kDay, &memo), x_alone(7 * kDay), y_alone(7 * kDay);
  auto a = test::test_replica(1), b = test::test_replica(2);
  std::vector<Record> first{a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0),
                            a.put(Kind::service_instance, "db", test::service_value("db", "10.210.1.3"), kT0),
                            b.put(Kind::service_instance, "api", test::service_value("api", "10.210.2.2"), kT0)};
  auto both = [&](ClusterState& shared, ClusterState& alone, const Record& r, uint64_t now) {
    EXPECT_EQ(shared.merge(r, now), alone.merge(r, now));
  };
  auto listing = [](const ClusterState& s) {
    std::vector<Record> out;
    s.for_each([&](const Record& r) { out.push_back(r); });
    return out;
  };
  auto check = [&] {
    EXPECT_EQ(listing(x), listing(x_alone));
    EXPECT_EQ(listing(y), listing(y_alone));
    EXPECT_EQ(x.digest(), recomputed(x));
    EXPECT_EQ(y.digest(), recomputed(y));
    EXPECT_EQ(x.same_digest(y), x_alone.same_digest(y_alone));
  };
  for (const auto& r : first) both(x, x_alone, r, kT0);
  for (auto r = first.rbegin(); r != first.rend(); ++r) both(y, y_alone, *r, kT0);  // another order
  check();
  EXPECT_TRUE(x.same_digest(y));
  const size_t slots = memo.slots().size();
  // Without a memo a slot is changed in place unless a copy of the state holds it too.
  const ClusterState snapshot = x_alone;
  const auto before = listing(snapshot);
  // x moves a's "api" on and deletes a's "db": y still holds both as they were.
  both(x, x_alone, a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.9"), kT0 + 1), kT0 + 1);
  both(x, x_alone, *a.erase(Kind::service_instance, "db", kT0 + 2), kT0 + 2);
  check();
  EXPECT_FALSE(x.same_digest(y));
  EXPECT_EQ(y.find(first[0].key)->value, first[0].value);
  EXPECT_FALSE(y.find(first[1].key)->tombstone);
  EXPECT_GT(memo.slots().size(), slots);
  EXPECT_EQ(listing(snapshot), before);
  EXPECT_EQ(snapshot.digest(), recomputed(snapshot));
  EXPECT_EQ(x.collect_garbage(kT0 + 8 * kDay), x_alone.collect_garbage(kT0 + 8 * kDay));
  EXPECT_EQ(y.drop_owner(b.id()), y_alone.drop_owner(b.id()));
  check();
  EXPECT_EQ(x.find(first[1].key), nullptr);
  EXPECT_NE(y.find(first[1].key), nullptr);
  EXPECT_EQ(y.find(first[2].key), nullptr);
  EXPECT_NE(x.find(first[2].key), nullptr);
}

// One kind's records come by (name, owner), and a change of that kind shows at the next call.
TEST(ClusterState, RecordsOfOneKindComeByNameThenOwnerAndFollowChanges) {
  auto x = test::test_replica(1);
  auto y = test::test_replica(2);
  auto z = test::test_replica(3);
  std::vector<Record> all{y.put(Kind::service_instance, "b", test::service_value("b", "10.210.2.2"), kT0),
                          x.put(Kind::service_instance, "b", test::service_value("b", "10.210.1.2"), kT0),
                          z.put(Kind::service_instance, "a", test::service_value("a", "10.210.3.2"), kT0)};
  ClusterState state(7 * kDay);
  auto listed = [&] {
    std::vector<std::pair<std::string, OwnerId>> out;
    state.for_each_of_kind(Kind::service_instance, [&](const Record& r) { out.emplace_back(r.key.name, r.key.owner); });
    return out;
  };
  for (const auto& r : all) ASSERT_EQ(state.merge(r, kT0), MergeResult::accepted);
  auto first = compare_ids(x.id(), y.id()) < 0 ? x.id() : y.id();
  auto second = first == x.id() ? y.id() : x.id();
  using Row = std::pair<std::string, OwnerId>;
  EXPECT_EQ(listed(), (std::vector<Row>{{"a", z.id()}, {"b", first}, {"b", second}}));
  ASSERT_EQ(state.merge(z.put(Kind::service_instance, "c", test::service_value("c", "10.210.3.3"), kT0 + 1), kT0),
            MergeResult::accepted);
  EXPECT_EQ(listed().size(), 4u);
  EXPECT_EQ(listed().back(), (Row{"c", z.id()}));
  state.drop_owner(z.id());
  EXPECT_EQ(listed(), (std::vector<Row>{{"b", first}, {"b", second}}));
  Record newer = x.put(Kind::service_instance, "b", test::service_value("b", "10.210.1.9"), kT0 + 2);
  ASSERT_EQ(state.merge(newer, kT0), MergeResult::accepted);  // replaces x's "b" in place
  std::vector<std::string> values;
  state.for_each_of_kind(Kind::service_instance, [&](const Record& r) { values.push_back(r.value); });
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[first == x.id() ? 0 : 1], newer.value);
}

TEST(ClusterState, SignedButMalformedValuesAreRefused) {
  auto key = test::test_key(1);
  auto b = test::test_replica(2);
  Record r;
  r.key = RecordKey{key.public_key(), Kind::container_lease, "10.210.1.2"};
  r.hlc = Hlc::make(kT0, 0);
  r.value = "not a cap'n proto message";
  key.sign(r);
  b.receive(std::vector{r}, kT0);
  EXPECT_EQ(b.count(MergeResult::malformed), 1u);
  EXPECT_EQ(b.state().size(), 0u);
}

TEST(ClusterState, RecordsTooFarInTheFutureAreHeldBack) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  Record r = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0 + 120'000);
  b.receive(std::vector{r}, kT0);
  EXPECT_EQ(b.count(MergeResult::too_far_ahead), 1u);
  EXPECT_EQ(b.state().size(), 0u);
  b.receive(std::vector{r}, kT0 + 61'000);  // our clock caught up: within the 60 s bound now
  EXPECT_EQ(b.state().size(), 1u);
}

TEST(ClusterState, DigestIsMaintainedIncrementally) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  for (int i = 0; i < 20; ++i)
    a.put(Kind::service_instance, "s" + std::to_string(i % 7), test::service_value("s", "10.210.1.2"), kT0 + i);
  a.erase(Kind::service_instance, "s3", kT0 + 30);
  b.put(Kind::service_instance, "x", test::service_value("x", "10.210.2.2"), kT0);
  exchange(a, b, kT0 + 40);
  EXPECT_EQ(a.state().digest(), recomputed(a.state()));
  EXPECT_EQ(b.state().digest(), recomputed(b.state()));
  EXPECT_EQ(a.state().digest(), b.state().digest());
  EXPECT_TRUE(a.state().same_digest(b.state()));
  a.collect_garbage(kT0 + 8 * kDay);
  EXPECT_FALSE(a.state().same_digest(b.state()));
  EXPECT_EQ(a.state().digest(), recomputed(a.state()));
}

TEST(ClusterState, TombstonesDeleteAndAreCollectedAfterTheHorizon) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  Record live = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  b.receive(std::vector{live}, kT0);
  Record tomb = *a.erase(Kind::service_instance, "api", kT0 + 10);
  EXPECT_FALSE(a.erase(Kind::service_instance, "api", kT0 + 11));  // already deleted
  b.receive(std::vector{tomb}, kT0 + 10);
  EXPECT_TRUE(b.state().find(live.key)->tombstone);
  EXPECT_EQ(b.collect_garbage(kT0 + kDay), 0u);  // within the 7-day horizon: kept
  EXPECT_EQ(b.collect_garbage(kT0 + 8 * kDay), 1u);
  EXPECT_EQ(b.state().find(live.key), nullptr);
  // An expired tombstone offered again is not re-added.
  b.receive(std::vector{tomb}, kT0 + 8 * kDay);
  EXPECT_EQ(b.count(MergeResult::expired), 1u);
  EXPECT_EQ(b.state().size(), 0u);
}

// The resurrection scenario: a deleted, GC'd record must not come back
// from a machine that was away longer than the horizon.
TEST(ClusterState, DeletedRecordDoesNotComeBackFromAMachineAwayLongerThanTheHorizon) {
  ReplicaOptions opts;
  opts.gc_horizon_ms = kDay;
  auto a = test::test_replica(1, opts);  // owner of the record
  auto b = test::test_replica(2, opts);  // stays in the cluster
  auto c = test::test_replica(3, opts);  // goes away
  a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  exchange(a, b, kT0 + 1);
  exchange(c, b, kT0 + 2);
  RecordKey key{a.id(), Kind::service_instance, "api"};
  ASSERT_TRUE(c.state().find(key));

  // c leaves. a deletes; a and b sync and, a horizon later, collect the tombstone.
  a.erase(Kind::service_instance, "api", kT0 + 1000);
  uint64_t t = kT0 + 1000;
  for (int day = 0; day < 3; ++day) {
    t += kDay / 2;
    exchange(a, b, t);
    a.collect_garbage(t);
    b.collect_garbage(t);
  }
  ASSERT_EQ(b.state().find(key), nullptr);
  ASSERT_FALSE(c.fresh(t));

  // c comes back holding the live record, and syncs with b first.
  exchange(c, b, t + 1);
  EXPECT_EQ(b.state().find(key), nullptr);
  EXPECT_EQ(c.state().find(key), nullptr);
  exchange(a, c, t + 2);
  EXPECT_EQ(a.state().find(key), nullptr);
  EXPECT_EQ(a.state().digest(), b.state().digest());
  EXPECT_EQ(c.state().digest(), b.state().digest());
}

TEST(ClusterState, OwnerAnswersAResurrectedRecordInItsNameWithACorrection) {
  ReplicaOptions opts;
  opts.gc_horizon_ms = kDay;
  auto a = test::test_replica(1, opts);
  auto b = test::test_replica(2, opts);
  Record live = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  a.erase(Kind::service_instance, "api", kT0 + 1);
  a.collect_garbage(kT0 + 2 * kDay);
  ASSERT_EQ(a.state().find(live.key), nullptr);
  // b never saw the delete; it offers the live record back to its owner.
  b.receive(std::vector{live}, kT0 + 2 * kDay);
  auto corrections = a.receive(std::vector{live}, kT0 + 2 * kDay);
  ASSERT_EQ(corrections.size(), 1u);
  EXPECT_TRUE(corrections[0].tombstone);
  EXPECT_GT(corrections[0].hlc, live.hlc);
  EXPECT_EQ(a.count(MergeResult::own_record), 1u);
  b.receive(corrections, kT0 + 2 * kDay);
  EXPECT_TRUE(b.state().find(live.key)->tombstone);
}

TEST(Replica, ChangesAreReportedForPersistence) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  Record r = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  auto changes = a.take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(*changes[0].record, r);
  EXPECT_TRUE(a.take_changes().empty());
  b.receive(std::vector{r, r}, kT0);
  EXPECT_EQ(b.take_changes().size(), 1u);  // the duplicate changed nothing
}

TEST(Replica, BrokenMergeSwitchIsObservable) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  b.set_broken_merge_for_tests(true);
  Record v1 = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kT0);
  Record v2 = a.put(Kind::service_instance, "api", test::service_value("api", "10.210.1.3"), kT0 + 1);
  b.receive(std::vector{v1, v2}, kT0 + 2);
  EXPECT_EQ(b.state().find(v1.key)->value, v1.value);  // the bug: first seen wins
}

TEST(Replica, RemovedMachineIsForgottenEverywhereAndItsSubnetFreed) {
  auto a = test::test_replica(1), b = test::test_replica(2), c = test::test_replica(3);
  auto net = *Ipv4Net::parse("10.210.5.0/24");
  a.put(Kind::subnet_claim, subnet_claim_name(net), encode_value(SubnetClaimValue{net}), kT0);
  a.put(Kind::service_instance, "api", test::service_value("api", "10.210.5.2"), kT0 + 1);
  exchange(a, b, kT0 + 2);
  exchange(b, c, kT0 + 3);
  ASSERT_EQ(c.state().size(), 2u);

  // c runs `machine rm` for a (dead by now); b learns it by anti-entropy.
  c.put(Kind::machine_removal, machine_removal_name(a.id()), encode_value(MachineRemovalValue{a.id(), "a"}), kT0 + 10);
  EXPECT_TRUE(c.retired().count(a.id()));
  size_t before = b.state().size();
  exchange(b, c, kT0 + 11);
  EXPECT_TRUE(b.retired().count(a.id()));
  EXPECT_EQ(b.state().size(), before - 2 + 1);  // a's two records gone, the removal added
  bool removal_persisted = false, claim_removed = false;
  for (const auto& ch : b.take_changes()) {
    if (ch.key.kind == Kind::machine_removal && ch.record) removal_persisted = true;
    if (ch.key.owner == a.id() && !ch.record) claim_removed = true;
  }
  EXPECT_TRUE(removal_persisted);
  EXPECT_TRUE(claim_removed);
  // a's records are refused from now on, from a itself or from anyone who still has them.
  Record late = a.put(Kind::service_instance, "late", test::service_value("l", "10.210.5.3"), kT0 + 20);
  b.receive(std::vector{late}, kT0 + 21);
  EXPECT_EQ(b.count(MergeResult::retired), 1u);
  EXPECT_FALSE(subnet_of(b.state(), a.id()));
  // The /24 is free again.
  auto d = test::test_replica(4);
  exchange(d, b, kT0 + 30);
  d.put(Kind::subnet_claim, subnet_claim_name(net), encode_value(SubnetClaimValue{net}), kT0 + 31);
  EXPECT_EQ(subnet_holders(d.state()).at(net).owner, d.id());
  // The removed machine learns it was removed.
  exchange(a, b, kT0 + 40);
  EXPECT_TRUE(a.removed_self());
  // A restart rebuilds the retired set from the stored removal record.
  std::vector<Record> stored;
  b.state().for_each([&](const Record& r) { stored.push_back(r); });
  stored.push_back(late);
  auto b2 = test::test_replica(2);
  b2.restore(stored, kT0 + 50);
  EXPECT_TRUE(b2.retired().count(a.id()));
  EXPECT_EQ(b2.state().find(late.key), nullptr);
}

// The by-kind list, kept current change by change, always equals one built from scratch: random
// writes, replacements, tombstones, drops and garbage collection over a few owners and names.
TEST(ClusterState, RecordsOfOneKindStayEqualToAFreshListThroughRandomChanges) {
  std::vector<Replica> writers;
  for (uint8_t i = 1; i <= 4; ++i) writers.push_back(test::test_replica(i));
  ClusterState state(7 * kDay);
  auto fresh = [&] {
    std::vector<std::pair<std::string, OwnerId>> out;
    state.for_each([&](const Record& r) {
      if (r.key.kind == Kind::service_instance) out.emplace_back(r.key.name, r.key.owner);
    });
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      return compare_ids(a.second, b.second) < 0;
    });
    return out;
  };
  auto listed = [&] {
    std::vector<std::pair<std::string, OwnerId>> out;
    state.for_each_of_kind(Kind::service_instance, [&](const Record& r) { out.emplace_back(r.key.name, r.key.owner); });
    return out;
  };
  uint64_t seed = 12345;
  auto next = [&](uint64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % n;
  };
  uint64_t now = kT0;
  for (int step = 0; step < 400; ++step) {
    now += 1000;
    Replica& w = writers[next(writers.size())];
    std::string name = "s" + std::to_string(next(5));
    switch (next(8)) {
      case 0: if (auto t = w.erase(Kind::service_instance, name, now)) state.merge(*t, now); break;
      case 1: state.drop_owner(w.id()); break;
      case 2: state.collect_garbage(now + 8 * kDay); break;
      default: state.merge(w.put(Kind::service_instance, name, test::service_value(name, "10.210.1.2"), now), now);
    }
    if (next(3) == 0) {
      ASSERT_EQ(listed(), fresh()) << "step " << step;
    }
  }
  EXPECT_EQ(listed(), fresh());
}
