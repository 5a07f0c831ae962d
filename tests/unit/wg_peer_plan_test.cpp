// From cluster state to WireGuard peers, and the minimal diffs that keep a device in line.
#include <gtest/gtest.h>

#include <algorithm>

#include "crdt/anti_entropy.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "support/keys.hpp"
#include "wg/firewall_rules.hpp"
#include "wg/peer_plan.hpp"

using namespace weft;
using namespace weft::wg;

namespace {

constexpr uint64_t kNow = 1'700'000'000'000;

Key wg_key(uint8_t b) {
  Key k;
  k.fill(b);
  return k;
}

// m0 (self), m1 and m2 with a /24 and a WireGuard endpoint each, m3 without a /24 yet.
struct Cluster {
  std::vector<crdt::Replica> replicas;
  crdt::Replica all = test::test_replica(100);
  explicit Cluster(int machines = 4) {
    for (int i = 0; i < machines; ++i) {
      replicas.push_back(test::test_replica(static_cast<uint8_t>(i + 1)));
      machine(i, wg_key(static_cast<uint8_t>(0x10 + i)));
      if (i < 3) {
        auto subnet = *Ipv4Net::parse("10.210." + std::to_string(i) + ".0/24");
        replicas[i].put(crdt::Kind::subnet_claim, crdt::subnet_claim_name(subnet),
                        crdt::encode_value(crdt::SubnetClaimValue{subnet}), kNow);
        endpoint(i, "198.51.100.1" + std::to_string(i), 51820);
      }
    }
    sync();
  }
  void machine(int i, const Key& key) {
    auto& r = replicas[i];
    crdt::MachineValue m{"m" + std::to_string(i), key, r.id(), {"198.51.100.1", 51821}, false, "t"};
    r.put(crdt::Kind::machine, crdt::kMachineRecordName, crdt::encode_value(m), kNow + 1);
  }
  void endpoint(int i, const std::string& ip, uint16_t port, uint64_t at = kNow) {
    crdt::EndpointCandidatesValue v{{crdt::Endpoint{ip, port}}};
    replicas[i].put(crdt::Kind::endpoint_candidates, kWireguardCandidatesName, crdt::encode_value(v), at);
  }
  void sync() {
    for (auto& r : replicas) crdt::exchange(all, r, kNow + 10);
  }
  std::set<crdt::OwnerId> live(std::initializer_list<int> which) const {
    std::set<crdt::OwnerId> s;
    for (int i : which) s.insert(replicas[i].id());
    return s;
  }
  const crdt::OwnerId& id(int i) const { return replicas[i].id(); }
};

PeerStatus held(const Key& key, std::string endpoint, uint16_t keepalive, std::vector<std::string> ips) {
  PeerStatus p;
  p.public_key = key;
  p.endpoint = std::move(endpoint);
  p.keepalive = keepalive;
  p.allowed_ips = std::move(ips);
  return p;
}

// The device after `update` was applied to `status`, as a daemon would do it.
DeviceStatus apply(DeviceStatus status, const DeviceUpdate& update) {
  for (const auto& u : update.peers) {
    auto it = std::find_if(status.peers.begin(), status.peers.end(), [&](const PeerStatus& p) { return p.public_key == u.public_key; });
    if (u.remove) {
      if (it != status.peers.end()) status.peers.erase(it);
      continue;
    }
    if (it == status.peers.end()) {
      status.peers.push_back(PeerStatus{});
      status.peers.back().public_key = u.public_key;
      it = status.peers.end() - 1;
    }
    if (u.endpoint) it->endpoint = *u.endpoint;
    if (u.keepalive) it->keepalive = *u.keepalive;
    if (u.replace_allowed_ips) it->allowed_ips.clear();
    for (const auto& ip : u.allowed_ips) it->allowed_ips.push_back(ip);
  }
  return status;
}

}  // namespace

TEST(WantedPeers, EveryLiveMachineWithASubnetButSelf) {
  Cluster c;
  auto peers = wanted_peers(c.all.state(), c.live({0, 1, 2, 3}), c.id(0));
  ASSERT_EQ(peers.size(), 2u);  // not self, not m3 (no /24)
  const auto& p1 = peers.at(wg_key(0x11));
  EXPECT_EQ(p1.name, "m1");
  EXPECT_EQ(p1.owner, c.id(1));
  EXPECT_EQ(p1.endpoint, "198.51.100.11:51820");
  EXPECT_EQ(p1.keepalive, 25);
  EXPECT_EQ(p1.allowed_ips, std::vector<std::string>{"10.210.1.0/24"});
  EXPECT_EQ(peers.at(wg_key(0x12)).allowed_ips, std::vector<std::string>{"10.210.2.0/24"});
}

TEST(WantedPeers, WithAccessSessionsEachMachineAlsoHoldsItsBlockOfTheAccessRange) {
  Cluster c;
  AccessRouting access{*Ipv4Net::parse("10.77.0.0/16"), *Ipv4Net::parse("10.210.0.0/16")};
  auto peers = wanted_peers(c.all.state(), c.live({0, 1, 2}), c.id(0), kDefaultKeepalive, access);
  EXPECT_EQ(peers.at(wg_key(0x11)).allowed_ips, (std::vector<std::string>{"10.210.1.0/24", "10.77.1.0/24"}));
  EXPECT_EQ(peers.at(wg_key(0x12)).allowed_ips, (std::vector<std::string>{"10.210.2.0/24", "10.77.2.0/24"}));
}

TEST(WantedPeers, DeadMachinesAreNotPeers) {
  Cluster c;
  auto peers = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
  EXPECT_EQ(peers.size(), 1u);
  EXPECT_TRUE(peers.contains(wg_key(0x11)));
}

TEST(WantedPeers, WithoutAnEndpointRecordThePeerHasNone) {
  Cluster c;
  c.replicas[1].erase(crdt::Kind::endpoint_candidates, kWireguardCandidatesName, kNow + 20);
  c.sync();
  auto peers = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
  EXPECT_EQ(peers.at(wg_key(0x11)).endpoint, "");
}

TEST(WantedPeers, ACopiedWireguardKeyGoesToTheLowerMachineIdOnEveryReplica) {
  Cluster c;
  c.machine(2, wg_key(0x11));  // m2 now announces m1's key
  c.sync();
  auto peers = wanted_peers(c.all.state(), c.live({0, 1, 2}), c.id(0));
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers.at(wg_key(0x11)).owner, std::min(c.id(1), c.id(2)));
}

TEST(WantedPeers, FormatsIpv6Endpoints) {
  EXPECT_EQ(format_endpoint("fd00::1", 51820), "[fd00::1]:51820");
  EXPECT_EQ(format_endpoint("198.51.100.1", 1), "198.51.100.1:1");
}

TEST(PeerReconciler, AddsEveryMissingPeerWithItsEndpointAndNothingMore) {
  Cluster c;
  auto wanted = wanted_peers(c.all.state(), c.live({0, 1, 2}), c.id(0));
  PeerReconciler r;
  DeviceUpdate u = r.plan(wanted, DeviceStatus{});
  ASSERT_EQ(u.peers.size(), 2u);
  for (const auto& p : u.peers) {
    EXPECT_FALSE(p.remove);
    EXPECT_TRUE(p.endpoint);
    EXPECT_EQ(p.keepalive, std::optional<uint16_t>(25));
    EXPECT_TRUE(p.replace_allowed_ips);
  }
  EXPECT_FALSE(u.private_key);
  EXPECT_FALSE(u.listen_port);
  DeviceStatus after = apply({}, u);
  EXPECT_TRUE(r.plan(wanted, after).empty()) << "a second plan after applying the first must be empty";
}

TEST(PeerReconciler, RemovesPeersNoLongerWanted) {
  Cluster c;
  PeerReconciler r;
  DeviceStatus device = apply({}, r.plan(wanted_peers(c.all.state(), c.live({0, 1, 2}), c.id(0)), {}));
  DeviceUpdate u = r.plan(wanted_peers(c.all.state(), c.live({0, 1}), c.id(0)), device);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_TRUE(u.peers[0].remove);
  EXPECT_EQ(u.peers[0].public_key, wg_key(0x12));
}

TEST(PeerReconciler, RepairsHandEditedAllowedIpsAndKeepalive) {
  Cluster c;
  auto wanted = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
  PeerReconciler r;
  DeviceStatus device;
  device.peers = {held(wg_key(0x11), "198.51.100.11:51820", 0, {"10.210.1.0/24", "0.0.0.0/0"})};
  DeviceUpdate u = r.plan(wanted, device);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_FALSE(u.peers[0].endpoint);  // already right: not touched
  EXPECT_EQ(u.peers[0].keepalive, std::optional<uint16_t>(25));
  EXPECT_TRUE(u.peers[0].replace_allowed_ips);
  EXPECT_EQ(u.peers[0].allowed_ips, std::vector<std::string>{"10.210.1.0/24"});
}

TEST(PeerReconciler, LeavesARoamedEndpointAloneButAppliesANewWantedOne) {
  Cluster c;
  PeerReconciler r;
  auto wanted = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
  DeviceStatus device = apply({}, r.plan(wanted, {}));
  device.peers[0].endpoint = "203.0.113.7:40000";  // WireGuard followed the peer to a new address
  EXPECT_TRUE(r.plan(wanted, device).empty());
  c.endpoint(1, "198.51.100.99", 51820, kNow + 50);  // the peer publishes a new endpoint
  c.sync();
  wanted = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
  DeviceUpdate u = r.plan(wanted, device);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].endpoint, std::optional<std::string>("198.51.100.99:51820"));
}

TEST(PeerReconciler, AfterAFailedSendEndpointsAreSetAgain) {
  Cluster c;
  PeerReconciler r;
  auto wanted = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
  DeviceStatus device = apply({}, r.plan(wanted, {}));
  device.peers[0].endpoint = "203.0.113.7:40000";
  r.forget();
  DeviceUpdate u = r.plan(wanted, device);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].endpoint, std::optional<std::string>("198.51.100.11:51820"));
}

// A hole punch attempt on an idle session: keepalive off then on again, in that order, so the
// device sends to the new endpoint at once; a new peer needs no kick (it handshakes anyway).
// m0's device holding its one peer m1, as planned; the test then changes what it wants.
struct OnePeer {
  Cluster c;
  PeerReconciler r;
  DeviceStatus status;
  PeerSet wanted;
  OnePeer() {
    wanted = wanted_peers(c.all.state(), c.live({0, 1}), c.id(0));
    status = apply(status, r.plan(wanted, status));
  }
  WantedPeer& trying(const std::string& endpoint) {
    auto& want = wanted.begin()->second;
    want.endpoint = endpoint;
    want.keepalive = 1;
    return want;
  }
};

TEST(PeerReconciler, AKickTurnsTheKeepaliveOffAndOnAgain) {
  OnePeer o;
  auto& r = o.r;
  auto& status = o.status;
  auto& wanted = o.wanted;
  auto& want = o.trying("203.0.113.10:51820");
  want.kick = true;
  auto update = r.plan(wanted, status);
  ASSERT_EQ(update.peers.size(), 2u);
  EXPECT_EQ(update.peers[0].keepalive, uint16_t{0});
  EXPECT_FALSE(update.peers[0].endpoint);
  EXPECT_EQ(update.peers[1].endpoint, "203.0.113.10:51820");
  EXPECT_EQ(update.peers[1].keepalive, uint16_t{1});
  status = apply(status, update);
  // Kicked again with nothing else changed: still both steps.
  EXPECT_EQ(r.plan(wanted, status).peers.size(), 2u);
  want.kick = false;
  EXPECT_TRUE(r.plan(wanted, status).empty());
  PeerReconciler fresh;
  want.kick = true;
  auto added = fresh.plan(wanted, DeviceStatus{});
  ASSERT_EQ(added.peers.size(), 1u);
  EXPECT_EQ(added.peers[0].keepalive, uint16_t{1});
}

TEST(PeerReconciler, ARestartRemovesAndAddsThePeerInOneUpdate) {
  OnePeer o;
  auto& r = o.r;
  auto& status = o.status;
  auto& wanted = o.wanted;
  auto& want = o.trying("203.0.113.30:51820");
  want.restart = true;
  auto update = r.plan(wanted, status);
  ASSERT_EQ(update.peers.size(), 2u);
  EXPECT_TRUE(update.peers[0].remove);
  EXPECT_FALSE(update.peers[1].remove);
  EXPECT_EQ(update.peers[1].endpoint, "203.0.113.30:51820");
  EXPECT_EQ(update.peers[1].keepalive, uint16_t{1});
  EXPECT_TRUE(update.peers[1].replace_allowed_ips);
  EXPECT_EQ(update.peers[1].allowed_ips, want.allowed_ips);
  status = apply(status, update);
  ASSERT_EQ(status.peers.size(), 1u);
  EXPECT_EQ(status.peers[0].endpoint, "203.0.113.30:51820");
}

TEST(Firewall, MasqueradesOnlyWhatLeavesTheMesh) {
  FirewallConfig fc{"weft", "weft-br", *Ipv4Net::parse("10.210.0.0/16"), *Ipv4Net::parse("10.210.7.0/24"), 51820, 51821,
                    std::nullopt};
  auto rules = firewall_rules(fc);
  std::vector<std::vector<std::string>> nat;
  for (const auto& r : rules)
    if (r.table == "nat") nat.push_back(r.match);
  ASSERT_EQ(nat.size(), 2u);
  // First: mesh-bound traffic returns before any MASQUERADE; then only non-WireGuard egress.
  EXPECT_EQ(nat[0], (std::vector<std::string>{"-s", "10.210.7.0/24", "-d", "10.210.0.0/16", "-j", "RETURN"}));
  EXPECT_EQ(nat[1], (std::vector<std::string>{"-s", "10.210.7.0/24", "!", "-o", "weft", "-j", "MASQUERADE"}));
  auto has = [&](std::vector<std::string> m) {
    return std::any_of(rules.begin(), rules.end(), [&](const FirewallRule& r) { return r.match == m; });
  };
  EXPECT_TRUE(has({"-i", "weft", "-o", "weft-br", "-j", "ACCEPT"}));
  EXPECT_TRUE(has({"-i", "weft-br", "-o", "weft", "-j", "ACCEPT"}));
  EXPECT_TRUE(has({"-p", "udp", "--dport", "51820", "-j", "ACCEPT"}));
  EXPECT_TRUE(has({"-p", "tcp", "--dport", "51821", "-j", "ACCEPT"}));
  EXPECT_TRUE(has({"-i", "weft", "-d", "10.210.7.0/24", "-j", "ACCEPT"}));  // raw: before Docker's drops
  for (const auto& r : rules) EXPECT_TRUE(r.chain.starts_with("WEFT-")) << "rules go in our chains only";
}

TEST(Firewall, AccessSessionsGoThroughTheAccessChainBeforeAnythingAccepts) {
  FirewallConfig fc{"weft", "weft-br", *Ipv4Net::parse("10.210.0.0/16"), *Ipv4Net::parse("10.210.7.0/24"), 51820, 51821,
                    *Ipv4Net::parse("10.77.7.0/24")};
  auto rules = firewall_rules(fc);
  auto first_in = [&](const std::string& chain) {
    for (const auto& r : rules)
      if (r.chain == chain) return r.match;
    return std::vector<std::string>{};
  };
  EXPECT_EQ(first_in("WEFT-INPUT"), (std::vector<std::string>{"-i", "weft", "-s", "10.77.7.0/24", "-j", "WEFT-ACCESS"}));
  EXPECT_EQ(first_in("WEFT-FORWARD"), (std::vector<std::string>{"-i", "weft", "-s", "10.77.7.0/24", "-j", "WEFT-ACCESS"}));
  // A session's traffic to a granted host outside the mesh leaves with this machine's address.
  EXPECT_TRUE(std::any_of(rules.begin(), rules.end(), [](const FirewallRule& r) {
    return r.table == "nat" && r.match == std::vector<std::string>{"-s", "10.77.7.0/24", "!", "-d", "10.210.0.0/16", "-j", "MASQUERADE"};
  }));
}
