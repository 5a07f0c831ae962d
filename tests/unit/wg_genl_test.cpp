// Kernel WireGuard's generic netlink messages: what we build is what the kernel's attribute
// layout says, large updates split without losing or repeating a peer, and replies (including a
// peer continued over two dump messages) parse back; malformed attributes are refused.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/wireguard.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <set>

#include "wg/genl_message.hpp"

using namespace weft::wg;

namespace {

constexpr int kFamily = 0x1d;

Key key_of(uint8_t b, uint8_t salt = 0) {
  Key k;
  k.fill(b);
  k[0] = salt;
  return k;
}

genlmsghdr* genl_header(nl_msg* msg) { return static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(msg))); }

// The device attributes of a built message, as parse_device_attributes reads a kernel reply.
bool parse_message(nl_msg* msg, DeviceStatus& status, std::string* error = nullptr) {
  genlmsghdr* g = genl_header(msg);
  return parse_device_attributes(reinterpret_cast<const uint8_t*>(genlmsg_attrdata(g, 0)),
                                 static_cast<size_t>(genlmsg_attrlen(g, 0)), status, error);
}

PeerUpdate add_peer(const Key& key, std::string endpoint, std::vector<std::string> ips) {
  PeerUpdate p;
  p.public_key = key;
  p.endpoint = std::move(endpoint);
  p.keepalive = 25;
  p.replace_allowed_ips = true;
  p.allowed_ips = std::move(ips);
  return p;
}

}  // namespace

TEST(GenlMessage, SetCarriesTheKernelsAttributeLayout) {
  DeviceUpdate u;
  u.private_key = key_of(7);
  u.listen_port = 51820;
  u.peers = {add_peer(key_of(1), "198.51.100.11:51820", {"10.210.1.0/24", "fd00:1::/64"})};
  PeerUpdate gone;
  gone.public_key = key_of(2);
  gone.remove = true;
  u.peers.push_back(gone);
  auto msgs = build_set_messages(kFamily, "weft", u);
  ASSERT_EQ(msgs.size(), 1u);
  nlmsghdr* nlh = nlmsg_hdr(msgs[0].get());
  EXPECT_EQ(nlh->nlmsg_type, kFamily);
  EXPECT_TRUE(nlh->nlmsg_flags & NLM_F_REQUEST);
  EXPECT_TRUE(nlh->nlmsg_flags & NLM_F_ACK);
  EXPECT_EQ(genl_header(msgs[0].get())->cmd, WG_CMD_SET_DEVICE);
  EXPECT_EQ(genl_header(msgs[0].get())->version, WG_GENL_VERSION);

  nlattr* tb[WGDEVICE_A_MAX + 1] = {};
  genlmsghdr* g = genl_header(msgs[0].get());
  ASSERT_EQ(nla_parse(tb, WGDEVICE_A_MAX, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), nullptr), 0);
  ASSERT_TRUE(tb[WGDEVICE_A_IFNAME]);
  EXPECT_STREQ(nla_get_string(tb[WGDEVICE_A_IFNAME]), "weft");
  ASSERT_TRUE(tb[WGDEVICE_A_PRIVATE_KEY]);
  EXPECT_EQ(0, memcmp(nla_data(tb[WGDEVICE_A_PRIVATE_KEY]), key_of(7).data(), 32));
  EXPECT_EQ(nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]), 51820);
  ASSERT_TRUE(tb[WGDEVICE_A_PEERS]);
  std::vector<uint32_t> flags;
  nlattr* peer;
  int rem;
  nla_for_each_nested(peer, tb[WGDEVICE_A_PEERS], rem) {
    nlattr* p[WGPEER_A_MAX + 1] = {};
    ASSERT_EQ(nla_parse_nested(p, WGPEER_A_MAX, peer, nullptr), 0);
    flags.push_back(nla_get_u32(p[WGPEER_A_FLAGS]));
    if (flags.size() == 1) {
      ASSERT_TRUE(p[WGPEER_A_ENDPOINT]);
      ASSERT_EQ(nla_len(p[WGPEER_A_ENDPOINT]), static_cast<int>(sizeof(sockaddr_in)));
      sockaddr_in sa;
      memcpy(&sa, nla_data(p[WGPEER_A_ENDPOINT]), sizeof sa);
      EXPECT_EQ(sa.sin_family, AF_INET);
      EXPECT_EQ(ntohs(sa.sin_port), 51820);
      EXPECT_EQ(nla_get_u16(p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]), 25);
    } else {
      EXPECT_FALSE(p[WGPEER_A_ENDPOINT]);  // a removal carries nothing else
      EXPECT_FALSE(p[WGPEER_A_ALLOWEDIPS]);
    }
  }
  EXPECT_EQ(flags, (std::vector<uint32_t>{WGPEER_F_REPLACE_ALLOWEDIPS, WGPEER_F_REMOVE_ME}));

  DeviceStatus back;
  std::string why;
  ASSERT_TRUE(parse_message(msgs[0].get(), back, &why)) << why;
  EXPECT_EQ(back.listen_port, 51820);
  ASSERT_EQ(back.peers.size(), 2u);
  EXPECT_EQ(back.peers[0].endpoint, "198.51.100.11:51820");
  EXPECT_EQ(back.peers[0].keepalive, 25);
  EXPECT_EQ(back.peers[0].allowed_ips, (std::vector<std::string>{"10.210.1.0/24", "fd00:1::/64"}));
}

TEST(GenlMessage, LargeUpdatesSplitWithoutLosingOrRepeatingAPeer) {
  DeviceUpdate u;
  u.private_key = key_of(9);
  for (int i = 0; i < 255; ++i)
    u.peers.push_back(add_peer(key_of(static_cast<uint8_t>(i), static_cast<uint8_t>(i)), "[fd00::" + std::to_string(i + 1) + "]:51820",
                               {"10.210." + std::to_string(i) + ".0/24"}));
  auto msgs = build_set_messages(kFamily, "weft", u, 4096);
  EXPECT_GT(msgs.size(), 5u);
  std::vector<Key> seen;
  for (auto& m : msgs) {
    EXPECT_LE(nlmsg_hdr(m.get())->nlmsg_len, 4096u);
    DeviceStatus s;
    ASSERT_TRUE(parse_message(m.get(), s));
    for (const auto& p : s.peers) {
      seen.push_back(p.public_key);
      EXPECT_EQ(p.allowed_ips.size(), 1u);
    }
  }
  ASSERT_EQ(seen.size(), 255u);
  for (int i = 0; i < 255; ++i) EXPECT_EQ(seen[i], u.peers[i].public_key) << i;
}

TEST(GenlMessage, APeerThatCannotFitIsAnError) {
  DeviceUpdate u;
  u.peers.push_back(add_peer(key_of(1), "198.51.100.1:1", {"10.0.0.0/8"}));
  EXPECT_THROW(build_set_messages(kFamily, "weft", u, 96), DeviceError);
  DeviceUpdate bad;
  bad.peers.push_back(add_peer(key_of(1), "not-an-endpoint", {"10.0.0.0/8"}));
  EXPECT_THROW(build_set_messages(kFamily, "weft", bad), DeviceError);
  DeviceUpdate bad_ip;
  bad_ip.peers.push_back(add_peer(key_of(1), "198.51.100.1:1", {"10.0.0.0/33"}));
  EXPECT_THROW(build_set_messages(kFamily, "weft", bad_ip), DeviceError);
}

TEST(GenlMessage, APeerContinuedInTheNextDumpMessageIsMerged) {
  DeviceUpdate first, second;
  first.peers = {add_peer(key_of(1), "198.51.100.1:51820", {"10.210.1.0/24"})};
  PeerUpdate more;
  more.public_key = key_of(1);
  more.allowed_ips = {"10.211.0.0/16"};
  second.peers = {more, add_peer(key_of(2), "198.51.100.2:51820", {"10.210.2.0/24"})};
  DeviceStatus s;
  ASSERT_TRUE(parse_message(build_set_messages(kFamily, "weft", first)[0].get(), s));
  ASSERT_TRUE(parse_message(build_set_messages(kFamily, "weft", second)[0].get(), s));
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].allowed_ips, (std::vector<std::string>{"10.210.1.0/24", "10.211.0.0/16"}));
}

TEST(GenlMessage, MalformedAttributesAreRefused) {
  DeviceStatus s;
  std::string why;
  // A peer nest whose public key is 31 bytes.
  NlMsg m(nlmsg_alloc());
  genlmsg_put(m.get(), 0, 0, kFamily, 0, 0, WG_CMD_GET_DEVICE, 1);
  nlattr* peers = nla_nest_start(m.get(), WGDEVICE_A_PEERS);
  nlattr* p = nla_nest_start(m.get(), 0);
  uint8_t short_key[31] = {};
  nla_put(m.get(), WGPEER_A_PUBLIC_KEY, 31, short_key);
  nla_nest_end(m.get(), p);
  nla_nest_end(m.get(), peers);
  EXPECT_FALSE(parse_message(m.get(), s, &why));
  EXPECT_FALSE(why.empty());
  // Truncated bytes: an attribute header claiming more than there is.
  uint8_t truncated[] = {0x40, 0x00, WGDEVICE_A_LISTEN_PORT, 0x00, 0x01};
  DeviceStatus t;
  EXPECT_TRUE(parse_device_attributes(truncated, sizeof truncated, t, &why) || !why.empty());
  EXPECT_EQ(t.listen_port, 0);
  // An allowed IP of family 7.
  NlMsg a(nlmsg_alloc());
  genlmsg_put(a.get(), 0, 0, kFamily, 0, 0, WG_CMD_GET_DEVICE, 1);
  peers = nla_nest_start(a.get(), WGDEVICE_A_PEERS);
  p = nla_nest_start(a.get(), 0);
  nla_put(a.get(), WGPEER_A_PUBLIC_KEY, 32, key_of(1).data());
  nlattr* ips = nla_nest_start(a.get(), WGPEER_A_ALLOWEDIPS);
  nlattr* ip = nla_nest_start(a.get(), 0);
  nla_put_u16(a.get(), WGALLOWEDIP_A_FAMILY, 7);
  uint8_t addr[4] = {10, 0, 0, 0};
  nla_put(a.get(), WGALLOWEDIP_A_IPADDR, 4, addr);
  nla_put_u8(a.get(), WGALLOWEDIP_A_CIDR_MASK, 8);
  nla_nest_end(a.get(), ip);
  nla_nest_end(a.get(), ips);
  nla_nest_end(a.get(), p);
  nla_nest_end(a.get(), peers);
  DeviceStatus u;
  EXPECT_FALSE(parse_message(a.get(), u, &why));
}

TEST(GenlMessage, EndpointsAndAllowedIpsConvert) {
  std::vector<uint8_t> sa;
  ASSERT_TRUE(endpoint_to_sockaddr("198.51.100.7:51820", sa));
  EXPECT_EQ(sockaddr_to_endpoint(sa.data(), sa.size()), "198.51.100.7:51820");
  ASSERT_TRUE(endpoint_to_sockaddr("[fd00::7]:1", sa));
  EXPECT_EQ(sockaddr_to_endpoint(sa.data(), sa.size()), "[fd00::7]:1");
  for (const char* bad : {"", ":1", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "fd00::7:1", "[fd00::7]", "host:1"})
    EXPECT_FALSE(endpoint_to_sockaddr(bad, sa)) << bad;
  EXPECT_EQ(sockaddr_to_endpoint(sa.data(), 3), "");
  uint16_t family;
  std::vector<uint8_t> address;
  uint8_t cidr;
  ASSERT_TRUE(parse_allowed_ip("10.210.3.0/24", family, address, cidr));
  EXPECT_EQ(family, AF_INET);
  EXPECT_EQ(cidr, 24);
  EXPECT_EQ(address, (std::vector<uint8_t>{10, 210, 3, 0}));
  for (const char* bad : {"10.210.3.0", "10.210.3.0/", "10.210.3.0/33", "fd00::/129", "x/1", "10.210.3.0/2a"})
    EXPECT_FALSE(parse_allowed_ip(bad, family, address, cidr)) << bad;
}
