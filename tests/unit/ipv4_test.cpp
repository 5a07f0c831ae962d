#include <gtest/gtest.h>

#include "base/hex.hpp"
#include "base/ipv4.hpp"

using namespace weft;

TEST(Ipv4, ParsesAndPrints) {
  auto ip = Ipv4::parse("10.210.7.2");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->value, 0x0ad20702u);
  EXPECT_EQ(ip->to_string(), "10.210.7.2");
}

TEST(Ipv4, RejectsMalformed) {
  for (const char* bad : {"", "10.210.7", "10.210.7.2.1", "256.0.0.1", "10.210.07.2", "a.b.c.d",
                          "10.210.7.2 ", "10..7.2", "-1.0.0.0"})
    EXPECT_FALSE(Ipv4::parse(bad)) << bad;
}

TEST(Ipv4Net, ParsesAndContains) {
  auto net = Ipv4Net::parse("10.210.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(*Ipv4::parse("10.210.255.254")));
  EXPECT_FALSE(net->contains(*Ipv4::parse("10.211.0.1")));
  EXPECT_TRUE(net->contains(*Ipv4Net::parse("10.210.9.0/24")));
  EXPECT_FALSE(Ipv4Net::parse("10.210.9.0/24")->contains(*net));
  EXPECT_EQ(net->to_string(), "10.210.0.0/16");
}

TEST(Ipv4Net, RejectsHostBitsAndBadLengths) {
  for (const char* bad : {"10.210.0.5/16", "10.210.0.0/33", "10.210.0.0/", "10.210.0.0", "10.210.0.0/1x"})
    EXPECT_FALSE(Ipv4Net::parse(bad)) << bad;
}

TEST(Hex, RoundTrips) {
  std::vector<uint8_t> bytes{0x00, 0x7f, 0xab, 0xff};
  EXPECT_EQ(to_hex(bytes), "007fabff");
  EXPECT_EQ(*from_hex("007FabFF"), bytes);
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}
