// Access sessions, the pure parts: TTL parsing, the access range and a machine's block of it,
// address allocation, expiry, and the client's wg-quick config.
#include <gtest/gtest.h>

#include "crdt/anti_entropy.hpp"
#include "support/keys.hpp"
#include "access/plan.hpp"
#include "wg/key_text.hpp"

using namespace weft;
using namespace weft::wg;
using namespace weft::access;

namespace {

Ipv4Net net(const char* text) { return *Ipv4Net::parse(text); }

AccessSession session(const std::string& id, const std::string& address, uint64_t expires) {
  crdt::AccessSessionValue v;
  v.label = id;
  v.address = address;
  v.expires_ms = expires;
  return AccessSession{id, v};
}

}  // namespace

TEST(AccessTtl, UnitsAndSumsParseAndNonsenseIsRefusedWithAReason) {
  std::string why;
  EXPECT_EQ(parse_ttl("90s", &why), 90'000u);
  EXPECT_EQ(parse_ttl("30m", &why), 1'800'000u);
  EXPECT_EQ(parse_ttl("2h", &why), 7'200'000u);
  EXPECT_EQ(parse_ttl("1d", &why), 86'400'000u);
  EXPECT_EQ(parse_ttl("1h30m", &why), 5'400'000u);
  for (const char* bad : {"", "0s", "0h0m", "10", "h", "5x", "-5m", "31d", "99999999999999999999h", "720h1s"}) {
    why.clear();
    EXPECT_FALSE(parse_ttl(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_TRUE(parse_ttl("720h", &why));  // exactly 30 days
}

TEST(AccessRange, MustMatchTheClusterSizeAndOverlapNothing) {
  auto cluster = net("10.210.0.0/16");
  EXPECT_EQ(check_access_range(net("10.77.0.0/16"), cluster, {net("0.0.0.0/0"), net("192.168.1.0/24")}), "");
  EXPECT_NE(check_access_range(net("10.77.0.0/24"), cluster, {}).find("size"), std::string::npos);
  EXPECT_NE(check_access_range(net("10.210.0.0/16"), cluster, {}).find("cluster network"), std::string::npos);
  EXPECT_NE(check_access_range(net("10.0.0.0/16"), net("10.0.0.0/16"), {}).find("overlaps"), std::string::npos);
  EXPECT_NE(check_access_range(net("10.77.0.0/16"), cluster, {net("10.77.3.0/24")}).find("route 10.77.3.0/24"),
            std::string::npos);
  EXPECT_NE(check_access_range(net("10.77.0.0/16"), cluster, {net("10.0.0.0/8")}).find("route 10.0.0.0/8"),
            std::string::npos);
}

TEST(AccessRange, MachineNServesTheNthBlock) {
  EXPECT_EQ(access_block(net("10.77.0.0/16"), net("10.210.0.0/16"), net("10.210.7.0/24")), net("10.77.7.0/24"));
  EXPECT_EQ(access_block(net("10.77.0.0/16"), net("10.210.0.0/16"), net("10.210.255.0/24")), net("10.77.255.0/24"));
}

TEST(AccessAddress, LowestFreeHostOfTheBlockExpiredSessionsFreeTheirs) {
  auto block = net("10.77.7.0/24");
  std::vector<AccessSession> s{session("a", "10.77.7.2/32", 2'000), session("b", "10.77.7.3/32", 500)};
  EXPECT_EQ(allocate_access_address(block, s, 1'000)->to_string(), "10.77.7.3");  // b expired at 500
  EXPECT_EQ(allocate_access_address(block, s, 100)->to_string(), "10.77.7.4");
  std::vector<AccessSession> full;
  for (int h = 2; h <= 254; ++h) full.push_back(session("s" + std::to_string(h), "10.77.7." + std::to_string(h) + "/32", 9'000));
  EXPECT_FALSE(allocate_access_address(block, full, 1'000));
  EXPECT_EQ(next_expiry(s, 100), 500u);
  EXPECT_EQ(next_expiry(s, 600), 2'000u);
  EXPECT_FALSE(next_expiry(s, 2'000));
}

TEST(AccessSessions, OnlyThisMachinesLiveRecords) {
  auto mine = test::test_replica(1), other = test::test_replica(2);
  crdt::AccessSessionValue v{"laptop", "10.77.1.2/32", {}, 5'000, {}, 0};
  mine.put(crdt::Kind::access_session, "s1", crdt::encode_value(v), 1'000);
  mine.put(crdt::Kind::access_session, "s2", crdt::encode_value(v), 1'000);
  mine.erase(crdt::Kind::access_session, "s2", 1'100);
  other.put(crdt::Kind::access_session, "s9", crdt::encode_value(v), 1'000);
  crdt::exchange(mine, other, 1'200);
  auto s = sessions_of(mine.state(), mine.id());
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].id, "s1");
  EXPECT_EQ(s[0].value.label, "laptop");
}

TEST(AccessConfig, WgQuickWithTheKeyOrAPlaceholder) {
  ClientConfig c;
  c.private_key = "cHJpdmF0ZWtleXByaXZhdGVrZXlwcml2YXRla2V5MDE=";
  c.address = "10.77.7.2/32";
  c.server_key = "c2VydmVya2V5c2VydmVya2V5c2VydmVya2V5c2VydjA=";
  c.endpoint = "203.0.113.100:51820";
  c.allowed_ips = {"10.210.7.1/32", "10.210.7.5/32"};
  c.label = "renter";
  c.expires_ms = 1'800'000'000'000;
  auto text = render_wg_quick(c);
  EXPECT_NE(text.find("[Interface]\nPrivateKey = cHJpdmF0ZWtleXByaXZhdGVrZXlwcml2YXRla2V5MDE=\nAddress = 10.77.7.2/32\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("[Peer]\nPublicKey = c2VydmVya2V5c2VydmVya2V5c2VydmVya2V5c2VydjA=\nEndpoint = 203.0.113.100:51820\n"
                      "AllowedIPs = 10.210.7.1/32, 10.210.7.5/32\nPersistentKeepalive = 25\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("valid until 2027-01-15T08:00:00Z"), std::string::npos) << text;
  c.private_key.clear();
  EXPECT_NE(render_wg_quick(c).find("PrivateKey = <your private key>"), std::string::npos);
}

TEST(AccessTargets, ServiceNamesOrAddressesNeverTheAccessRange) {
  auto range = net("10.77.0.0/16");
  EXPECT_EQ(check_target("api", range), "");
  EXPECT_EQ(check_target("10.210.3.5", range), "");
  EXPECT_EQ(check_target("10.210.3.5:8080", range), "");
  for (const char* bad : {"10.210.3.5:0", "10.210.3.5:70000", "10.210.3.5:80x", "10.210.3:80", "api.internal", "", "a b"})
    EXPECT_NE(check_target(bad, range), "") << bad;
  EXPECT_NE(check_target("10.77.3.9", range).find("access range"), std::string::npos);
}

TEST(AccessTargets, ServicesResolveToTheirInstancesAndNoTargetsMeansTheMachine) {
  auto r = test::test_replica(1);
  r.put(crdt::Kind::service_instance, "api/10.210.3.5:8080",
        crdt::encode_value(crdt::ServiceInstanceValue{"api", "10.210.3.5", 8080, "tcp", "", true}), 1'000);
  r.put(crdt::Kind::service_instance, "api/10.210.4.6:8080",
        crdt::encode_value(crdt::ServiceInstanceValue{"api", "10.210.4.6", 8080, "tcp", "", true}), 1'000);
  r.put(crdt::Kind::service_instance, "db/10.210.4.7", crdt::encode_value(crdt::ServiceInstanceValue{"db", "10.210.4.7", 0, "", "", true}),
        1'000);
  auto own = net("10.210.3.0/24");
  auto t = resolve_targets(r.state(), {"api", "10.210.9.1:22"}, own);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], (AccessTarget{net("10.210.3.5/32"), "tcp", 8080}));
  EXPECT_EQ(t[1], (AccessTarget{net("10.210.4.6/32"), "tcp", 8080}));
  EXPECT_EQ(t[2], (AccessTarget{net("10.210.9.1/32"), "", 22}));
  EXPECT_EQ(client_allowed_ips(t), (std::vector<std::string>{"10.210.3.5/32", "10.210.4.6/32", "10.210.9.1/32"}));
  auto d = resolve_targets(r.state(), {}, own);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (AccessTarget{own, "", 0}));
  EXPECT_TRUE(resolve_targets(r.state(), {"nothing"}, own).empty());
}

TEST(AccessRules, EachSessionReachesItsTargetsAndEverythingElseDrops) {
  auto r = test::test_replica(1);
  std::vector<AccessSession> live{session("a", "10.77.3.2/32", 9'000), session("b", "10.77.3.3/32", 9'000)};
  live[0].value.targets = {"10.210.3.1:8080"};
  live[1].value.targets = {"10.210.4.1"};
  auto rules = access_rules(r.state(), live, net("10.210.3.0/24"));
  std::vector<std::vector<std::string>> m;
  for (const auto& rule : rules) {
    EXPECT_EQ(rule.chain, kAccessChain);
    EXPECT_EQ(rule.table, "filter");
    m.push_back(rule.match);
  }
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], (std::vector<std::string>{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}));
  EXPECT_EQ(m[1], (std::vector<std::string>{"-s", "10.77.3.2/32", "-d", "10.210.3.1/32", "-p", "tcp", "--dport", "8080", "-j", "ACCEPT"}));
  EXPECT_EQ(m[2], (std::vector<std::string>{"-s", "10.77.3.2/32", "-d", "10.210.3.1/32", "-p", "udp", "--dport", "8080", "-j", "ACCEPT"}));
  EXPECT_EQ(m[3], (std::vector<std::string>{"-s", "10.77.3.3/32", "-d", "10.210.4.1/32", "-j", "ACCEPT"}));
  EXPECT_EQ(m[4], (std::vector<std::string>{"-j", "DROP"}));
  // No sessions: closed.
  EXPECT_EQ(access_rules(r.state(), {}, net("10.210.3.0/24")).size(), 2u);
}

TEST(AccessPeers, LiveSessionsOnlyEachOnItsAddressAndMachinesRouteTheirBlocks) {
  std::vector<AccessSession> s{session("a", "10.77.3.2/32", 2'000), session("b", "10.77.3.3/32", 500)};
  s[0].value.client_key[0] = 1;
  s[1].value.client_key[0] = 2;
  auto live = live_sessions(s, 1'000);
  ASSERT_EQ(live.size(), 1u);
  auto peers = session_peers(live);
  ASSERT_EQ(peers.size(), 1u);
  const auto& p = peers.begin()->second;
  EXPECT_TRUE(p.access);
  EXPECT_EQ(p.allowed_ips, (std::vector<std::string>{"10.77.3.2/32"}));
  EXPECT_EQ(p.keepalive, kDefaultKeepalive);
  EXPECT_TRUE(p.endpoint.empty());
}

TEST(KeyText, Base64OfExactly32BytesAndNothingElse) {
  Key k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7);
  auto text = key_to_base64(k);
  EXPECT_EQ(text.size(), 44u);
  EXPECT_EQ(key_from_base64(text), k);
  for (std::string bad : {std::string(""), text.substr(0, 43), text + "=", std::string(44, '!'),
                          std::string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),  // 48 chars
                          text.substr(0, 42) + "==", std::string(43, 'A') + " "})
    EXPECT_FALSE(key_from_base64(bad)) << bad;
}
