// Access sessions, the pure parts: TTL parsing, the access range and a machine's block of it,
// address allocation, expiry, and the client's wg-quick config.
#include <gtest/gtest.h>

#include "crdt/anti_entropy.hpp"
#include "support/keys.hpp"
#include "wg/access_plan.hpp"

using namespace weft;
using namespace weft::wg;

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
  crdt::AccessSessionValue v{"laptop", "10.77.1.2/32", {}, 5'000};
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
