// dns::respond, the reply policy the agent's DNS server and the fuzz target share: which
// queries get an answer, an error, silence or the forwarder, and under which size limit.
#include <gtest/gtest.h>

#include "dns/respond.hpp"

using namespace weft;
using namespace weft::dns;

namespace {

ZoneView small_view() {
  ZoneView v;
  v.network = *Ipv4Net::parse("10.210.0.0/16");
  v.self_name = "m0";
  v.machines["m0"] = Ipv4::parse("10.210.0.1")->value;
  v.reverse[Ipv4::parse("10.210.0.1")->value] = "m0.m.internal";
  return v;
}

std::vector<uint8_t> query(const std::string& name, bool edns = false) {
  return encode_query(7, *Name::parse_text(name), type::A, true, edns);
}

}  // namespace

TEST(DnsRespond, ZoneNamesAreAnsweredAndCacheable) {
  Rng rng(1);
  auto r = respond(query("m0.m.internal"), false, small_view(), rng, true);
  ASSERT_EQ(r.action, Reply::Action::send);
  EXPECT_EQ(r.outcome, Reply::Outcome::answered);
  EXPECT_TRUE(r.cacheable);
  ASSERT_EQ(r.response.answers.size(), 1u);
  auto header = peek_response(r.bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->id, 7);
  auto missing = respond(query("nope.m.internal"), false, small_view(), rng, true);
  EXPECT_EQ(missing.outcome, Reply::Outcome::nxdomain);
  EXPECT_TRUE(missing.cacheable);
}

TEST(DnsRespond, OutsideNamesAreForwardedOnlyWhenAllowedElseRefused) {
  Rng rng(1);
  auto forwarded = respond(query("example.com"), false, small_view(), rng, true);
  EXPECT_EQ(forwarded.action, Reply::Action::forward);
  EXPECT_TRUE(forwarded.bytes.empty());
  auto refused = respond(query("example.com"), false, small_view(), rng, false);
  ASSERT_EQ(refused.action, Reply::Action::send);
  EXPECT_EQ(refused.outcome, Reply::Outcome::refused);
  EXPECT_FALSE(refused.cacheable);
  EXPECT_EQ(refused.response.rcode, rcode::refused);
}

TEST(DnsRespond, BadEdnsVersionGetsBadversAndGarbageGetsFormerrOrSilence) {
  Rng rng(1);
  auto q = query("m0.m.internal", true);
  // The OPT record closes the message: its TTL field carries the extended rcode, the version
  // and the flags; version is the second of those bytes (RFC 6891 6.1.3).
  q[q.size() - 5] = 1;
  auto r = respond(q, false, small_view(), rng, true);
  ASSERT_EQ(r.action, Reply::Action::send);
  EXPECT_EQ(r.outcome, Reply::Outcome::badvers);
  EXPECT_FALSE(r.cacheable);

  auto truncated = query("m0.m.internal");
  truncated.resize(14);  // a header and two bytes of question
  auto f = respond(truncated, false, small_view(), rng, true);
  EXPECT_EQ(f.outcome, Reply::Outcome::formerr);
  std::vector<uint8_t> tiny{1, 2, 3};
  EXPECT_EQ(respond(tiny, false, small_view(), rng, true).action, Reply::Action::ignore);
  auto response = query("m0.m.internal");
  response[2] |= 0x80;  // QR: a response, never answered
  EXPECT_EQ(respond(response, true, small_view(), rng, true).action, Reply::Action::ignore);
}

TEST(DnsRespond, RepliesFitTheLimitOfTheirTransport) {
  Query q;
  EXPECT_EQ(reply_limit(q, false), kMaxUdpWithoutEdns);
  EXPECT_EQ(reply_limit(q, true), 65535u);
  q.edns = true;
  q.udp_payload = 4096;
  EXPECT_EQ(reply_limit(q, false), kDefaultEdnsPayload);
  q.udp_payload = 600;
  EXPECT_EQ(reply_limit(q, false), 600u);
}
