// The UAPI codec against a reply recorded from wireguard-go v0.0.20220316 (a throwaway key),
// and against what a daemon must never make us accept.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/hex.hpp"
#include "wg/uapi.hpp"

using namespace weft;
using namespace weft::wg;

namespace {

std::string recorded() {
  std::ifstream in(std::string(WEFT_TEST_DATA) + "/wireguard_go_get_reply.txt");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Key key_of(uint8_t b) {
  Key k;
  k.fill(b);
  return k;
}

}  // namespace

TEST(Uapi, ParsesARecordedWireguardGoReply) {
  std::string text = recorded();
  ASSERT_TRUE(reply_complete(text));
  std::string why;
  auto r = parse_reply(text, &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->errno_value, 0);
  ASSERT_TRUE(r->status.private_key);
  EXPECT_EQ(to_hex(*r->status.private_key), "50163868c3d760295dae1019b123bfce821559538360e23910da29d78d4b6f42");
  EXPECT_EQ(r->status.listen_port, 51820);
  ASSERT_EQ(r->status.peers.size(), 2u);
  const auto& a = r->status.peers[0];
  EXPECT_EQ(to_hex(a.public_key), "088917fe51130dd2b2988314a36600a02f78a18be1aebebb7b0fbd10a00aa573");
  EXPECT_EQ(a.endpoint, "198.51.100.12:51820");
  EXPECT_EQ(a.keepalive, 25);
  EXPECT_EQ(a.allowed_ips, std::vector<std::string>{"10.210.1.0/24"});
  const auto& b = r->status.peers[1];
  EXPECT_EQ(b.endpoint, "");
  EXPECT_EQ(b.keepalive, 0);
  EXPECT_EQ(b.allowed_ips, (std::vector<std::string>{"10.210.2.0/24", "fd00::/64"}));
}

TEST(Uapi, ParsesCountersAndNegativeErrno) {
  std::string text =
      "public_key=" + std::string(64, 'a') +
      "\nendpoint=[fd00::1]:51820\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n"
      "rx_bytes=18446744073709551615\ntx_bytes=7\nerrno=0\n\n";
  auto r = parse_reply(text, nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.peers[0].endpoint, "[fd00::1]:51820");
  EXPECT_EQ(r->status.peers[0].last_handshake_sec, 1700000000u);
  EXPECT_EQ(r->status.peers[0].rx_bytes, UINT64_MAX);
  EXPECT_EQ(r->status.peers[0].tx_bytes, 7u);
  auto e = parse_reply("errno=-22\n\n", nullptr);  // what wireguard-go said to a bad public_key
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value, 22);
}

TEST(Uapi, SkipsKeysOfNewerDaemons) {
  auto r = parse_reply("listen_port=1\nsome_future_key=x\npublic_key=" + std::string(64, '0') + "\nfuture_peer_key=1\nerrno=0\n\n",
                       nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.peers.size(), 1u);
}

TEST(Uapi, RefusesMalformedReplies) {
  const std::string key = std::string(64, 'b');
  for (const std::string& bad : {
           std::string(""),
           std::string("errno=0\n"),                            // no closing blank line
           std::string("listen_port=1\n\n"),                    // no errno
           std::string("errno=x\n\n"),                          // errno not a number
           std::string("listen_port=70000\nerrno=0\n\n"),       // port out of range
           std::string("listen_port=-1\nerrno=0\n\n"),
           std::string("endpoint=1.2.3.4:5\nerrno=0\n\n"),      // peer attribute before public_key
           std::string("public_key=" + key.substr(1) + "\nerrno=0\n\n"),  // 63 digits
           std::string("public_key=" + std::string(64, 'B') + "\nerrno=0\n\n"),  // uppercase
           std::string("public_key=" + key + "\nrx_bytes=18446744073709551616\nerrno=0\n\n"),  // overflow
           std::string("public_key=" + key + "\nallowed_ip=10.0.0.0\nerrno=0\n\n"),  // no prefix
           std::string("public_key=" + key + "\nendpoint=\nerrno=0\n\n"),
           std::string("=1\nerrno=0\n\n"),
           std::string("noequals\nerrno=0\n\n"),
           std::string("errno=0\n\nlisten_port=1\n"),            // bytes after the end
           std::string("errno=0\nlisten_port=1\n\n"),            // a line after errno
           std::string("\nerrno=0\n\n"),
       }) {
    std::string why;
    EXPECT_FALSE(parse_reply(bad, &why)) << "accepted: " << bad;
    if (!bad.empty()) {
      EXPECT_FALSE(why.empty());
    }
  }
}

TEST(Uapi, CompletenessNeedsErrnoThenBlankLine) {
  EXPECT_FALSE(reply_complete(""));
  EXPECT_FALSE(reply_complete("errno=0\n"));
  EXPECT_TRUE(reply_complete("errno=0\n\n"));
  EXPECT_FALSE(reply_complete("listen_port=1\n\n"));
  EXPECT_TRUE(reply_complete("listen_port=1\nerrno=0\n\n"));
}

TEST(Uapi, EncodesExactlyWhatIsSet) {
  DeviceUpdate u;
  u.private_key = key_of(0x11);
  u.listen_port = 51820;
  PeerUpdate add;
  add.public_key = key_of(0xab);
  add.endpoint = "198.51.100.11:51820";
  add.keepalive = 25;
  add.replace_allowed_ips = true;
  add.allowed_ips = {"10.210.1.0/24"};
  PeerUpdate gone;
  gone.public_key = key_of(0xcd);
  gone.remove = true;
  gone.endpoint = "ignored:1";  // a removal carries nothing else
  PeerUpdate keepalive_only;
  keepalive_only.public_key = key_of(0xef);
  keepalive_only.keepalive = 0;
  u.peers = {add, gone, keepalive_only};
  auto hex = [](uint8_t b) { return to_hex(key_of(b)); };
  EXPECT_EQ(encode_set(u), "set=1\nprivate_key=" + hex(0x11) + "\nlisten_port=51820\n" +
                               "public_key=" + hex(0xab) +
                               "\nendpoint=198.51.100.11:51820\npersistent_keepalive_interval=25\n"
                               "replace_allowed_ips=true\nallowed_ip=10.210.1.0/24\n" +
                               "public_key=" + hex(0xcd) + "\nremove=true\n" +
                               "public_key=" + hex(0xef) + "\npersistent_keepalive_interval=0\n\n");
  EXPECT_EQ(hex(0xab).substr(0, 6), "ababab");
  EXPECT_EQ(encode_get(), "get=1\n\n");
}

TEST(Uapi, EncodedPeersParseBackAsAReply) {
  // What we write for a peer, read back as a daemon would echo it in a get, is the same peer.
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = key_of(0x42);
  p.endpoint = "[fd00::2]:51820";
  p.keepalive = 25;
  p.allowed_ips = {"10.210.9.0/24"};
  u.peers = {p};
  std::string text = encode_set(u);
  text = text.substr(std::string("set=1\n").size());
  text.insert(text.size() - 1, "errno=0\n");
  auto r = parse_reply(text, nullptr);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status.peers.size(), 1u);
  EXPECT_EQ(r->status.peers[0].public_key, p.public_key);
  EXPECT_EQ(r->status.peers[0].endpoint, *p.endpoint);
  EXPECT_EQ(r->status.peers[0].keepalive, 25);
  EXPECT_EQ(r->status.peers[0].allowed_ips, p.allowed_ips);
}
