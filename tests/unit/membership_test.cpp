// SWIM + Lifeguard core, driven through the deterministic SimCluster: virtual time, no sockets,
// no sleeps. Bounds below are virtual-time limits for conditions, not timing assertions.
#include <gtest/gtest.h>

#include <map>
#include <numeric>

#include "crdt/values.hpp"
#include "gossip/broadcast_queue.hpp"
#include "gossip/suspicion.hpp"
#include "sim/cluster.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::gossip;
using sim::SimCluster;

namespace {

std::vector<size_t> range(size_t n, size_t from = 0) {
  std::vector<size_t> v(n - from);
  std::iota(v.begin(), v.end(), from);
  return v;
}

SimCluster joined_cluster(size_t n, uint64_t seed, sim::NetworkConfig net = {}, GossipConfig gossip = {}) {
  SimCluster c(seed, gossip, net);
  c.add_node({});
  for (size_t i = 1; i < n; ++i) c.add_node({0});
  EXPECT_TRUE(c.run_until([&] { return c.all_see(range(n), MemberState::alive); }, 30'000));
  return c;
}

}  // namespace

TEST(BroadcastQueue, LeastSentFirstNewestFirstAndRetransmitLimit) {
  BroadcastQueue<int, int> q;
  q.push(1, 100, 40);
  q.push(2, 200, 40);
  std::vector<int> out;
  q.take(1000, 2, out);
  EXPECT_EQ(out, (std::vector<int>{200, 100}));  // newest first
  q.push(3, 300, 40);
  out.clear();
  q.take(50, 2, out);  // room for one: the never-sent one wins
  EXPECT_EQ(out, (std::vector<int>{300}));
  out.clear();
  q.take(1000, 2, out);  // every item reaches its limit of 2 here
  EXPECT_EQ(out.size(), 3u);
  EXPECT_TRUE(q.empty());
  q.push(3, 300, 40);
  q.push(3, 301, 40);  // a newer fact about key 3 replaces the older
  out.clear();
  q.take(1000, 2, out);
  EXPECT_EQ(out, (std::vector<int>{301}));
}

TEST(BroadcastQueue, ATopUpOfTheSameMessageNeverRepeatsAnItem) {
  BroadcastQueue<int, int> q;
  q.push(1, 100, 40);
  std::vector<int> out;
  q.take(50, 4, out);
  q.take(1000, 4, out, /*more_for_same_message=*/true);
  EXPECT_EQ(out, (std::vector<int>{100}));  // once, and counted once:
  for (int k = 0; k < 3; ++k) q.take(1000, 4, out);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_TRUE(q.empty());
}

TEST(Suspicion, TimeoutShrinksWithIndependentConfirmations) {
  MemberId a{}, b{}, c{}, d{};
  a[0] = 1, b[0] = 2, c[0] = 3, d[0] = 4;
  Suspicion s(0, 4000, 24000, 2, a);
  EXPECT_EQ(s.deadline(), 24000u);
  EXPECT_FALSE(s.confirm(a));  // the original suspecter does not count twice
  EXPECT_TRUE(s.confirm(b));
  uint64_t after_one = s.deadline();
  EXPECT_LT(after_one, 24000u);
  EXPECT_GT(after_one, 4000u);
  EXPECT_TRUE(s.confirm(c));
  EXPECT_EQ(s.deadline(), 4000u);  // k confirmations: the minimum
  EXPECT_FALSE(s.confirm(d));      // beyond k: nothing more to shorten
}

TEST(Membership, TwelveNodesJoiningThroughOneSeedAllSeeAll) {
  SimCluster c(1);
  c.add_node({});
  for (int i = 1; i < 12; ++i) c.add_node({0});
  ASSERT_TRUE(c.run_until([&] { return c.all_see(range(12), MemberState::alive); }, 10'000));
  for (size_t i = 0; i < 12; ++i) EXPECT_TRUE(c.membership(i).joined());
}

TEST(Membership, CrashedNodeIsDeclaredDeadByAll) {
  auto c = joined_cluster(12, 2);
  c.crash(5);
  ASSERT_TRUE(c.run_until([&] { return c.all_see({5}, MemberState::dead); }, 60'000));
  // Nobody else was wrongly declared dead along the way.
  std::vector<size_t> others = range(12);
  others.erase(others.begin() + 5);
  EXPECT_TRUE(c.all_see(others, MemberState::alive));
}

TEST(Membership, GracefulLeaveIsSeenAsLeftNotDead) {
  auto c = joined_cluster(8, 3);
  c.leave(3);
  c.crash(3);  // the process exits right after telling the others
  ASSERT_TRUE(c.run_until([&] { return c.all_see({3}, MemberState::left); }, 5'000));
  c.run_for(60'000);
  EXPECT_TRUE(c.all_see({3}, MemberState::left));  // never turned into dead
}

TEST(Membership, FalseSuspicionIsRefutedWithAHigherIncarnation) {
  auto c = joined_cluster(6, 4);
  uint64_t before = c.membership(2).self().incarnation;
  // Node 0 hears a (false) suspicion of node 2 from node 1.
  Message m;
  m.from = c.replica(1).id();
  m.updates.push_back(MemberUpdate{c.replica(2).id(), before, MemberState::suspect, "", "", c.replica(1).id()});
  Effects fx;
  c.membership(0).on_message(c.address(1), m, c.now(), fx);
  EXPECT_EQ(c.view(0, 2), MemberState::suspect);
  ASSERT_TRUE(c.run_until([&] { return c.all_see({2}, MemberState::alive) && c.view(0, 2) == MemberState::alive; }, 20'000));
  EXPECT_GT(c.membership(2).self().incarnation, before);
  EXPECT_GE(c.membership(2).counters().refutes, 1u);
}

TEST(Membership, RestartedNodeRejoinsWithAHigherIncarnation) {
  auto c = joined_cluster(6, 5);
  c.crash(4);
  ASSERT_TRUE(c.run_until([&] { return c.all_see({4}, MemberState::dead); }, 60'000));
  uint64_t old_incarnation = c.membership(4).self().incarnation;
  c.restart(4, {0});
  ASSERT_TRUE(c.run_until([&] { return c.all_see(range(6), MemberState::alive); }, 20'000));
  EXPECT_GT(c.membership(4).self().incarnation, old_incarnation);
}

TEST(Membership, RecordsSpreadToEveryNode) {
  auto c = joined_cluster(12, 6);
  c.write(7, crdt::Kind::service_instance, "api", test::service_value("api", "10.210.7.2", 80));
  crdt::RecordKey key{c.replica(7).id(), crdt::Kind::service_instance, "api"};
  ASSERT_TRUE(c.run_until([&] {
    for (size_t i = 0; i < c.size(); ++i)
      if (!c.replica(i).state().find(key)) return false;
    return true;
  }, 5'000));
}

TEST(Membership, RecordsStillSpreadUnderMembershipChurn) {
  // Many membership updates at once (a join storm) must not starve state deltas: records keep
  // their share of every packet.
  SimCluster c(7);
  c.add_node({});
  for (int i = 1; i < 40; ++i) c.add_node({0});
  c.write(0, crdt::Kind::service_instance, "api", test::service_value("api", "10.210.0.2", 80));
  crdt::RecordKey key{c.replica(0).id(), crdt::Kind::service_instance, "api"};
  ASSERT_TRUE(c.run_until([&] {
    for (size_t i = 0; i < c.size(); ++i)
      if (!c.replica(i).state().find(key)) return false;
    return true;
  }, 10'000));
}

TEST(Membership, PartitionHealsWithoutRestarts) {
  auto c = joined_cluster(10, 8);
  auto a = range(5), b = range(10, 5);
  c.partition(a, b);
  ASSERT_TRUE(c.run_until([&] {
    for (size_t x : a)
      for (size_t y : b)
        if (c.view(x, y) != MemberState::dead || c.view(y, x) != MemberState::dead) return false;
    return true;
  }, 120'000));
  // Each side keeps writing.
  c.write(1, crdt::Kind::service_instance, "left", test::service_value("l", "10.210.1.2"));
  c.write(8, crdt::Kind::service_instance, "right", test::service_value("r", "10.210.8.2"));
  c.heal();
  ASSERT_TRUE(c.run_until([&] { return c.all_see(range(10), MemberState::alive); }, 120'000));
  ASSERT_TRUE(c.run_until([&] {
    for (size_t i = 1; i < c.size(); ++i)
      if (!c.replica(i).state().same_digest(c.replica(0).state())) return false;
    return true;
  }, 120'000));
}

TEST(Membership, ABridgeKeepsBothFarSidesAlive) {
  // 0-5 and 12-17 cannot reach each other; 6-11 reach both. Direct probes across fail, but
  // indirect probes through the middle answer, and gossip crosses through it too.
  auto c = joined_cluster(18, 12);
  auto left = range(6), right = range(18, 12);  // 6-11: the bridge
  c.partition(left, right);
  c.write(2, crdt::Kind::service_instance, "left", test::service_value("l", "10.210.2.2"));
  c.write(15, crdt::Kind::service_instance, "right", test::service_value("r", "10.210.15.2"));
  crdt::RecordKey lkey{c.replica(2).id(), crdt::Kind::service_instance, "left"};
  crdt::RecordKey rkey{c.replica(15).id(), crdt::Kind::service_instance, "right"};
  ASSERT_TRUE(c.run_until([&] { return c.replica(15).state().find(lkey) && c.replica(2).state().find(rkey); }, 30'000));
  uint64_t failures = 0;
  c.run_for(120'000);
  for (size_t x : left) failures += c.membership(x).counters().probe_failures;
  EXPECT_GT(failures, 0u);  // the far side did go unanswered directly at times...
  for (size_t x : left)
    for (size_t y : right) {
      EXPECT_NE(c.view(x, y), MemberState::dead) << x << " sees " << y << " dead";  // ...yet nobody died
      EXPECT_NE(c.view(y, x), MemberState::dead) << y << " sees " << x << " dead";
    }
}

TEST(Membership, DuplicatedReorderedAndSlowDatagramsAreHarmless) {
  sim::NetworkConfig net;
  net.duplicate = 0.2;
  net.reorder = 0.3;
  auto c = joined_cluster(16, 13, net);
  for (size_t x = 0; x < 4; ++x)  // 0-3 are far away from everyone else (RTT under the probe timeout)
    for (size_t y = 4; y < 16; ++y) {
      c.set_link_delay(x, y, 150, 60);
      c.set_link_delay(y, x, 150, 60);
    }
  for (size_t i = 0; i < 16; ++i)
    c.write(i, crdt::Kind::service_instance, "s", test::service_value("s", "10.210." + std::to_string(i) + ".2"));
  ASSERT_TRUE(c.run_until([&] {
    for (size_t i = 1; i < c.size(); ++i)
      if (c.replica(i).state().size() != 16 || !c.replica(i).state().same_digest(c.replica(0).state())) return false;
    return true;
  }, 60'000));
  c.run_for(120'000);
  EXPECT_GT(c.messages_duplicated(), 1000u);
  EXPECT_TRUE(c.all_see(range(16), MemberState::alive));
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c.membership(i).counters().deaths_declared, 0u) << i;
}

TEST(Membership, NoFalseDeathsUnderTenPercentLoss) {
  sim::NetworkConfig net;
  net.loss = 0.10;
  // memberlist's 3 indirect probes, not our 5: more suspicions for the refutation to answer
  // (with 5, 300 s of 20 nodes expect about one).
  GossipConfig gossip;
  gossip.indirect_checks = 3;
  auto c = joined_cluster(20, 9, net, gossip);
  uint64_t raised = 0;
  c.run_for(300'000);  // 300 probe periods per node
  for (size_t i = 0; i < c.size(); ++i) raised += c.membership(i).counters().suspects_raised;
  EXPECT_GT(raised, 0u);  // the loss did cause suspicions...
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c.membership(i).counters().deaths_declared, 0u) << i;  // ...all refuted in time
    for (size_t j = 0; j < c.size(); ++j) {
      if (i == j) continue;
      EXPECT_NE(c.view(i, j), MemberState::dead) << i << " sees " << j << " dead";
    }
  }
}

TEST(Membership, LocalHealthRisesWhenThisNodeCannotHear) {
  auto c = joined_cluster(8, 10);
  for (size_t i = 0; i < 8; ++i)
    if (i != 3) c.cut(i, 3);  // node 3 sends fine but receives nothing
  unsigned peak = 0;
  c.run_until([&] {
    peak = std::max(peak, c.membership(3).health());
    return peak >= 3;
  }, 30'000);
  EXPECT_GE(peak, 3u);
  EXPECT_EQ(c.membership(0).health(), 0u);
}

TEST(Membership, LiveCountStaysExactThroughChurn) {
  auto c = joined_cluster(10, 12);
  c.crash(3);
  c.leave(4);
  c.crash(4);
  c.run_for(60'000);
  c.restart(3, {0});
  for (size_t i = 0; i < 10; ++i)
    if (i != 5 && i != 4) c.membership(i).ban(c.replica(5).id());
  c.run_for(30'000);
  for (size_t i = 0; i < 10; ++i) {
    if (!c.up(i)) continue;
    EXPECT_EQ(c.membership(i).alive_count(), c.membership(i).recount_live()) << i;
    EXPECT_EQ(c.membership(i).members_hash(), c.membership(i).recount_members_hash()) << i;
  }
}

TEST(Membership, SameSeedSameTrace) {
  auto run = [](uint64_t seed) {
    sim::NetworkConfig net;
    net.loss = 0.05;
    SimCluster c(seed, {}, net);
    c.add_node({});
    for (int i = 1; i < 10; ++i) c.add_node({0});
    c.run_for(20'000);
    c.crash(4);
    c.run_for(20'000);
    return c.trace_hash();
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Membership, BannedMachineIsForgottenAndStaysOut) {
  auto c = joined_cluster(6, 11);
  for (size_t i = 0; i < 6; ++i)
    if (i != 4) c.membership(i).ban(c.replica(4).id());
  c.run_for(30'000);  // node 4 keeps gossiping: nobody takes it back
  for (size_t i = 0; i < 6; ++i) {
    if (i == 4) continue;
    EXPECT_FALSE(c.view(i, 4).has_value()) << i;
    EXPECT_EQ(c.membership(i).members().size(), 5u);
  }
}

namespace {

// One Membership driven by hand: it knows members 1..n-1 (alive) and nothing else runs.
struct Lone {
  crdt::Replica replica = test::test_replica(1);
  std::vector<crdt::Replica> others;
  Membership m;
  uint64_t now = 1'000'000;

  explicit Lone(size_t n, GossipConfig config = {}) : m(replica.id(), "self", "10.0.0.1:51821", 0, config, 7, replica) {
    Effects fx;
    m.join({}, now, fx);
    for (size_t i = 1; i < n; ++i) {
      others.push_back(test::test_replica(static_cast<uint8_t>(i + 1)));
      Message hello;
      hello.from = others.back().id();
      hello.updates.push_back(MemberUpdate{hello.from, 0, MemberState::alive, "n" + std::to_string(i),
                                           "10.0.0." + std::to_string(i + 1) + ":51821", hello.from});
      m.on_message(hello.updates[0].address, hello, now, fx);
    }
  }
  std::string address(size_t i) const { return m.members().at(others.at(i).id()).address; }
  // What member 0 (the suspect) answers; every other member acks every ping at once.
  enum class Answers { all, streams_only, none };
  // Advances to `until`, answering pings as told; nothing else reaches this member.
  std::vector<Outgoing> run(uint64_t until, bool suspect_answers) {
    return run(until, suspect_answers ? Answers::all : Answers::none);
  }
  std::vector<Outgoing> run(uint64_t until, Answers suspect) {
    std::vector<Outgoing> sent;
    while (m.next_wakeup() <= until) {
      now = std::max(now, m.next_wakeup());
      Effects fx;
      m.tick(now, fx);
      for (auto& o : fx.out) {
        const auto* ping = std::get_if<Ping>(&o.message.body);
        bool answers = suspect == Answers::all || (suspect == Answers::streams_only && ping && ping->stream);
        if (ping && (answers || ping->target != others[0].id())) {
          Message ack;
          ack.from = ping->target;
          ack.body = Ack{ping->seq, ping->stream};
          Effects ignored;
          m.on_message(o.to, ack, now, ignored);
        }
        sent.push_back(std::move(o));
      }
    }
    now = until;
    return sent;
  }
};

}  // namespace

TEST(Membership, SuspicionTimeoutEndsInOneLastProbeThatCanSaveTheMember) {
  Lone lone(6);
  const MemberId suspect = lone.others[0].id();
  Message rumor;  // a suspicion heard from member 2, whose refutation we then miss
  rumor.from = lone.others[1].id();
  rumor.updates.push_back(MemberUpdate{suspect, 0, MemberState::suspect, "n1", lone.address(0), rumor.from});
  Effects fx;
  lone.m.on_message(lone.address(1), rumor, lone.now, fx);
  ASSERT_EQ(lone.m.members().at(suspect).state, MemberState::suspect);
  // The member answers the last probe: past every suspicion timeout, it is still not dead.
  lone.run(lone.now + 200'000, true);
  EXPECT_NE(lone.m.members().at(suspect).state, MemberState::dead);
  EXPECT_GE(lone.m.counters().last_checks_answered, 1u);
  EXPECT_EQ(lone.m.counters().deaths_declared, 0u);
}

// memberlist's TCP ping: a member none of whose datagrams arrive, but whose stream transport
// works, is never suspected; without the fallback the same member is.
TEST(Membership, AStreamPingSavesAMemberWhoseDatagramsAreLost) {
  Lone lone(6);
  auto sent = lone.run(lone.now + 60'000, Lone::Answers::streams_only);
  size_t stream_pings = 0;
  for (const auto& o : sent)
    if (const auto* ping = std::get_if<Ping>(&o.message.body); ping && ping->stream) {
      ++stream_pings;
      EXPECT_TRUE(is_stream(o.message));
      EXPECT_TRUE(o.message.updates.empty() && o.message.records.empty());
    }
  EXPECT_GE(stream_pings, 1u);
  EXPECT_EQ(lone.m.counters().stream_pings, stream_pings);
  EXPECT_GE(lone.m.counters().stream_rescues, 1u);
  EXPECT_EQ(lone.m.counters().suspects_raised, 0u);
  EXPECT_EQ(lone.m.members().at(lone.others[0].id()).state, MemberState::alive);

  GossipConfig without;
  without.stream_pings = false;
  Lone plain(6, without);
  for (const auto& o : plain.run(plain.now + 60'000, Lone::Answers::streams_only))
    if (const auto* ping = std::get_if<Ping>(&o.message.body)) {
      EXPECT_FALSE(ping->stream);
    }
  EXPECT_EQ(plain.m.counters().stream_pings, 0u);
  EXPECT_GE(plain.m.counters().suspects_raised, 1u);
}

TEST(Membership, UnansweredLastProbeDeclaresTheSuspectDead) {
  Lone lone(6);
  const MemberId suspect = lone.others[0].id();
  Message rumor;
  rumor.from = lone.others[1].id();
  rumor.updates.push_back(MemberUpdate{suspect, 0, MemberState::suspect, "n1", lone.address(0), rumor.from});
  Effects fx;
  lone.m.on_message(lone.address(1), rumor, lone.now, fx);
  auto sent = lone.run(lone.now + 200'000, false);
  EXPECT_EQ(lone.m.members().at(suspect).state, MemberState::dead);
  EXPECT_EQ(lone.m.counters().last_checks, 1u);
  EXPECT_EQ(lone.m.counters().last_checks_answered, 0u);
  // The last probe went to the suspect itself and through helpers.
  bool direct = false, indirect = false;
  for (const auto& o : sent) {
    if (const auto* p = std::get_if<Ping>(&o.message.body); p && p->target == suspect) direct = true;
    if (const auto* r = std::get_if<PingReq>(&o.message.body); r && r->target == suspect) indirect = true;
  }
  EXPECT_TRUE(direct);
  EXPECT_TRUE(indirect);
}

TEST(Membership, AStaleAccusationMakesTheAccusedGossipItselfAgain) {
  auto c = joined_cluster(6, 12);
  c.run_for(10'000);  // queues drain
  Membership& target = c.membership(3);
  uint64_t inc = target.self().incarnation;
  // It refutes a current suspicion (incarnation + 1)...
  Message m;
  m.from = c.replica(1).id();
  m.updates.push_back(MemberUpdate{c.replica(3).id(), inc, MemberState::suspect, "", "", m.from});
  Effects fx;
  target.on_message(c.address(1), m, c.now(), fx);
  EXPECT_EQ(target.self().incarnation, inc + 1);
  c.run_for(10'000);
  ASSERT_EQ(target.pending_updates(), 0u);
  // ...and when the old accusation shows up again, it re-announces itself without a new refute.
  target.on_message(c.address(1), m, c.now(), fx);
  EXPECT_EQ(target.self().incarnation, inc + 1);
  EXPECT_EQ(target.pending_updates(), 1u);
}

// The shell routes a member's datagrams by member (behind NAT, to where they come from), so
// every message to a member's address names that member, including after its address changes;
// a seed's address names nobody.
TEST(Membership, OutgoingNamesTheMemberItIsFor) {
  Lone lone(4);
  auto sent = lone.run(lone.now + 5'000, true);
  ASSERT_FALSE(sent.empty());
  for (const auto& o : sent) {
    ASSERT_TRUE(o.to_member.has_value()) << o.to;
    EXPECT_EQ(lone.m.members().at(*o.to_member).address, o.to);
  }
  const MemberId moved = lone.others[1].id();
  Message hello;  // member 2 restarted elsewhere
  hello.from = moved;
  hello.updates.push_back(MemberUpdate{moved, 1, MemberState::alive, "n2", "10.9.9.9:51821", moved});
  Effects fx;
  lone.m.on_message("10.9.9.9:51821", hello, lone.now, fx);
  bool saw_new = false;
  for (const auto& o : lone.run(lone.now + 10'000, true)) {
    EXPECT_NE(o.to, "10.0.0.3:51821");  // nothing to the old address
    if (o.to == "10.9.9.9:51821") {
      saw_new = true;
      EXPECT_EQ(o.to_member, moved);
    }
  }
  EXPECT_TRUE(saw_new);

  // A machine that left, and a new one on the same address: the address names the live one,
  // whatever order the facts arrive in.
  crdt::Replica gone = test::test_replica(20), reborn = test::test_replica(21);
  Message left;
  left.from = lone.others[2].id();
  left.updates.push_back(MemberUpdate{reborn.id(), 0, MemberState::alive, "new", "10.8.8.8:51821", reborn.id()});
  left.updates.push_back(MemberUpdate{gone.id(), 5, MemberState::left, "old", "10.8.8.8:51821", gone.id()});
  lone.m.on_message(lone.address(2), left, lone.now, fx);
  ASSERT_EQ(lone.m.members().at(gone.id()).state, MemberState::left);
  bool to_reborn = false;
  for (const auto& o : lone.run(lone.now + 20'000, true))
    if (o.to == "10.8.8.8:51821") {
      to_reborn = true;
      EXPECT_EQ(o.to_member, reborn.id());
    }
  EXPECT_TRUE(to_reborn);

  crdt::Replica joiner = test::test_replica(9);
  Membership fresh(joiner.id(), "new", "10.0.0.9:51821", 0, GossipConfig{}, 3, joiner);
  Effects join;
  fresh.join({"10.0.0.1:51821"}, lone.now, join);
  ASSERT_EQ(join.out.size(), 1u);
  EXPECT_FALSE(join.out[0].to_member.has_value());
}

// Behind NAT the member that answered the join may be the only one reachable: the first quick
// sync after joining goes back to it (records it took in meanwhile arrive now), not to a random
// member.
TEST(Membership, TheFirstSyncAfterJoiningGoesToWhoeverAnsweredTheJoin) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    crdt::Replica me = test::test_replica(1), seeder = test::test_replica(2);
    Membership m(me.id(), "me", "192.168.30.2:51821", 0, GossipConfig{}, seed, me);
    Effects fx;
    uint64_t now = 1'000'000;
    m.join({"203.0.113.100:51821"}, now, fx);
    PushPull reply;
    reply.members.push_back(MemberUpdate{seeder.id(), 0, MemberState::alive, "p", "203.0.113.100:51821", seeder.id()});
    for (uint8_t i = 3; i < 9; ++i) {
      auto id = test::test_replica(i).id();
      reply.members.push_back(
          MemberUpdate{id, 0, MemberState::alive, "n" + std::to_string(i), "192.168." + std::to_string(i) + ".2:51821", id});
    }
    reply.reply = crdt::SyncReply{};
    Message msg;
    msg.from = seeder.id();
    msg.body = reply;
    m.on_message("203.0.113.100:51821", msg, now, fx);
    ASSERT_TRUE(m.joined());
    const uint64_t joined_at = now;
    std::vector<Outgoing> syncs;  // the post-join one, 500 ms after the join (periodic ones aside)
    while (m.next_wakeup() <= joined_at + 600) {
      now = std::max(now, m.next_wakeup());
      Effects tick;
      m.tick(now, tick);
      for (auto& o : tick.out)
        if (const auto* pp = std::get_if<PushPull>(&o.message.body); pp && pp->offer && !pp->join && now >= joined_at + 500)
          syncs.push_back(o);
    }
    ASSERT_EQ(syncs.size(), 1u) << seed;
    EXPECT_EQ(syncs[0].to, "203.0.113.100:51821") << seed;
    EXPECT_EQ(syncs[0].to_member, seeder.id()) << seed;
  }
}

// The periodic sync sends (count, set hash) of members and records first: equal states cost one
// small datagram; a difference (here a record only one member holds, never gossiped) makes the
// checking side open the full push-pull, which carries it.
TEST(Membership, PeriodicSyncsCheckDigestsFirstAndRunInFullOnlyWhenStatesDiffer) {
  auto c = joined_cluster(5, 7);
  c.run_for(5'000);  // past the two quick syncs after each join
  std::vector<uint64_t> full_before;
  for (size_t i = 0; i < 5; ++i) full_before.push_back(c.membership(i).counters().push_pulls);
  c.run_for(200'000);  // several periodic syncs each (every 30 s at 5 members)
  uint64_t checks = 0, skipped = 0;
  for (size_t i = 0; i < 5; ++i) {
    checks += c.membership(i).counters().sync_checks;
    skipped += c.membership(i).counters().syncs_skipped;
    EXPECT_EQ(c.membership(i).counters().push_pulls, full_before[i]) << "member " << i << " ran a full sync of equal states";
  }
  EXPECT_GE(checks, 25u);
  EXPECT_GE(skipped, 20u);  // a check lost to nothing: the network is loss-free here

  auto r = c.replica(0).put(crdt::Kind::service_instance, "hidden/10.210.0.9",
                            crdt::encode_value(crdt::ServiceInstanceValue{"hidden", "10.210.0.9", 0, "", "", true}), c.now());
  c.replica(0).take_written();  // kept out of gossip: only a sync can carry it
  auto everyone_holds = [&] {
    for (size_t i = 1; i < 5; ++i)
      if (!c.replica(i).state().find(r.key)) return false;
    return true;
  };
  ASSERT_TRUE(c.run_until(everyone_holds, 200'000)) << "a record outside gossip never reached the others by sync";
  uint64_t full_after = 0, full_total_before = 0;
  for (size_t i = 0; i < 5; ++i) {
    full_after += c.membership(i).counters().push_pulls;
    full_total_before += full_before[i];
  }
  EXPECT_GT(full_after, full_total_before);
}

// A member forgotten in the middle of a probe round leaves the round at once: later probes go
// to every member still known, one each per round, and never to the forgotten one (the probe
// order holds the members themselves, so a stale entry would be a dangling one).
TEST(Membership, AForgottenMemberLeavesTheProbeRoundAtOnce) {
  Lone lone(6);
  auto pinged = [](const std::vector<Outgoing>& sent) {
    std::map<MemberId, int> out;
    for (const auto& o : sent)
      if (const auto* ping = std::get_if<Ping>(&o.message.body); ping && !ping->stream) ++out[ping->target];
    return out;
  };
  lone.run(lone.now + 2'500, true);  // part of the first round done
  const MemberId banned = lone.others[3].id();
  lone.m.ban(banned);
  ASSERT_FALSE(lone.m.members().contains(banned));
  auto targets = pinged(lone.run(lone.now + 40'000, true));
  EXPECT_EQ(targets.count(banned), 0u);
  EXPECT_EQ(targets.size(), 4u);  // every other member still probed
  for (const auto& [id, n] : targets) EXPECT_GE(n, 5) << "probed too rarely";
}
