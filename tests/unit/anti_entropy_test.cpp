#include <gtest/gtest.h>

#include "crdt/anti_entropy.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::crdt;

namespace {
constexpr uint64_t kT0 = 1'700'000'000'000;

void fill(Replica& r, int n, uint64_t t) {
  for (int i = 0; i < n; ++i)
    r.put(Kind::service_instance, "svc" + std::to_string(i), test::service_value("svc", "10.210.1.2"), t + i);
}
}  // namespace

TEST(AntiEntropy, JoiningMachineGetsFullStateInOneExchange) {
  std::vector<Replica> cluster;
  for (uint8_t i = 1; i <= 4; ++i) {
    cluster.push_back(test::test_replica(i));
    fill(cluster.back(), 10, kT0);
  }
  for (size_t i = 1; i < cluster.size(); ++i) exchange(cluster[i], cluster[0], kT0 + 100);
  for (size_t i = 1; i < cluster.size(); ++i) exchange(cluster[i], cluster[0], kT0 + 200);

  auto joiner = test::test_replica(9);
  joiner.put(Kind::machine, kMachineRecordName,
             encode_value(MachineValue{"joiner", {}, joiner.id(), {"127.0.0.1", 51821}, false, "0"}), kT0 + 300);
  auto offer = make_offer(joiner, kT0 + 300);
  auto reply = answer_offer(cluster[0], offer, kT0 + 300);
  EXPECT_TRUE(reply.summaries.empty());
  auto push = on_reply(joiner, reply, kT0 + 300);
  EXPECT_EQ(joiner.state().size(), 41u);  // 40 from the cluster + its own, after one reply
  auto finish = on_push(cluster[0], push, kT0 + 300);
  on_finish(joiner, finish, kT0 + 300);
  EXPECT_EQ(joiner.state().digest(), cluster[0].state().digest());
}

TEST(AntiEntropy, AppendOnlyDifferencesNeedNoSummaries) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  fill(a, 5, kT0);
  exchange(a, b, kT0 + 10);
  fill(a, 8, kT0 + 20);  // overwrites svc0..4 and adds svc5..7
  // b has an older version of svc0..4: not append-only, so the digest path is ambiguous for a.
  auto offer = make_offer(b, kT0 + 30);
  auto reply = answer_offer(a, offer, kT0 + 30);
  ASSERT_EQ(reply.summaries.size(), 1u);
  auto push = on_reply(b, reply, kT0 + 30);
  EXPECT_EQ(push.wants.size(), 8u);
  auto finish = on_push(a, push, kT0 + 30);
  EXPECT_EQ(finish.records.size(), 8u);
  on_finish(b, finish, kT0 + 30);
  EXPECT_EQ(a.state().digest(), b.state().digest());

  fill(a, 3, kT0 + 40);  // fresh overwrites again... but now add a new key only:
  a.put(Kind::service_instance, "new", test::service_value("new", "10.210.1.9"), kT0 + 50);
  exchange(a, b, kT0 + 60);
  ASSERT_EQ(a.state().digest(), b.state().digest());
  a.put(Kind::service_instance, "newer", test::service_value("n", "10.210.1.9"), kT0 + 70);
  reply = answer_offer(a, make_offer(b, kT0 + 80), kT0 + 80);
  EXPECT_TRUE(reply.summaries.empty());
  EXPECT_EQ(reply.records.size(), 1u);  // exactly the one record b lacks
}

TEST(AntiEntropy, HolesFromLostGossipAreRepaired) {
  auto a = test::test_replica(1);
  auto b = test::test_replica(2);
  std::vector<Record> written;
  for (int i = 0; i < 10; ++i)
    written.push_back(a.put(Kind::service_instance, "s" + std::to_string(i), test::service_value("s", "10.210.1.2"), kT0 + i));
  // Gossip delivered every other record to b.
  for (size_t i = 0; i < written.size(); i += 2) b.receive(std::vector{written[i]}, kT0 + 20);
  exchange(b, a, kT0 + 30);
  EXPECT_EQ(b.state().size(), 10u);
  EXPECT_EQ(a.state().digest(), b.state().digest());
}

TEST(AntiEntropy, StaleReplicaTakesTheFreshView) {
  ReplicaOptions opts;
  opts.gc_horizon_ms = 1000;
  auto a = test::test_replica(1, opts);
  auto b = test::test_replica(2, opts);
  fill(a, 3, kT0);
  exchange(a, b, kT0 + 10);
  EXPECT_TRUE(a.fresh(kT0 + 10));
  EXPECT_TRUE(b.fresh(kT0 + 10));
  EXPECT_FALSE(b.fresh(kT0 + 2000));
  // Both stale: they still trust each other and become fresh again.
  exchange(b, a, kT0 + 5000);
  EXPECT_TRUE(a.fresh(kT0 + 5000));
  EXPECT_EQ(b.state().size(), 3u);
}
