// STUN messages and the Binding server (RFC 8489), with the XOR-MAPPED-ADDRESS bytes of RFC 5769's
// sample IPv4 response (192.0.2.1:32853 -> port a1 47, address e1 12 a6 43).
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "stun/binding.hpp"
#include "paths/control_routes.hpp"
#include "stun/message.hpp"
#include "stun/rate_limit.hpp"

using namespace weft::stun;
using namespace weft::paths;

namespace {

std::array<uint8_t, 16> tid_with_cookie() {
  return {0x21, 0x12, 0xA4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
}

Address v4(const char* ip, uint16_t port) {
  Address a;
  inet_pton(AF_INET, ip, a.ip.data());
  a.port = port;
  return a;
}

Address v6(const char* ip, uint16_t port) {
  Address a;
  a.v6 = true;
  inet_pton(AF_INET6, ip, a.ip.data());
  a.port = port;
  return a;
}

std::vector<uint8_t> request(std::vector<std::pair<uint16_t, std::vector<uint8_t>>> attrs = {}, bool cookie = true,
                             uint16_t method = kBinding, Class cls = Class::request) {
  std::vector<uint8_t> out;
  uint16_t type = message_type(method, cls);
  out = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 0};
  auto tid = tid_with_cookie();
  if (!cookie) tid[0] = 0x99;
  out.insert(out.end(), tid.begin(), tid.end());
  for (auto& [t, v] : attrs) {
    out.push_back(static_cast<uint8_t>(t >> 8));
    out.push_back(static_cast<uint8_t>(t));
    out.push_back(0);
    out.push_back(static_cast<uint8_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
    while (out.size() % 4) out.push_back(0);
  }
  out[3] = static_cast<uint8_t>(out.size() - kHeaderSize);
  return out;
}

bool contains(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

}  // namespace

TEST(StunMessage, TypesOfBindingRequestAndResponses) {
  EXPECT_EQ(message_type(kBinding, Class::request), 0x0001);
  EXPECT_EQ(message_type(kBinding, Class::indication), 0x0011);
  EXPECT_EQ(message_type(kBinding, Class::success), 0x0101);
  EXPECT_EQ(message_type(kBinding, Class::error), 0x0111);
  EXPECT_EQ(message_type(0xFFF, Class::error), 0x3FFF);
}

TEST(StunMessage, XorMappedAddressAsInRfc5769) {
  Message m;
  m.cls = Class::success;
  m.transaction = tid_with_cookie();
  m.xor_mapped = v4("192.0.2.1", 32853);
  auto bytes = encode(m);
  EXPECT_TRUE(contains(bytes, {0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}));
  auto back = parse(bytes, nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->xor_mapped, m.xor_mapped);
  EXPECT_EQ(back->cls, Class::success);
  EXPECT_EQ(back->method, kBinding);
}

TEST(StunMessage, RoundTripsWithFingerprintAndDetectsCorruption) {
  Message m;
  m.cls = Class::success;
  m.transaction = tid_with_cookie();
  m.xor_mapped = v6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  m.software = "weft test";
  m.fingerprint = true;
  auto bytes = encode(m);
  std::string why;
  auto back = parse(bytes, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->xor_mapped, m.xor_mapped);
  EXPECT_EQ(back->xor_mapped->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_EQ(back->software, "weft test");
  EXPECT_TRUE(back->fingerprint);
  bytes[bytes.size() - 9] ^= 1;  // a bit of the SOFTWARE text
  EXPECT_FALSE(parse(bytes, &why));
  EXPECT_EQ(why, "wrong FINGERPRINT");
}

TEST(StunMessage, RefusesMalformedMessages) {
  auto good = request();
  std::vector<std::vector<uint8_t>> bad{
      {},
      std::vector<uint8_t>(good.begin(), good.begin() + 19),
      request({{0x8022, {'a'}}}),  // fine on its own: made bad below
  };
  bad[2][3] += 4;  // length beyond the datagram
  auto high_bits = good;
  high_bits[0] |= 0x80;
  bad.push_back(high_bits);
  bad.push_back(request({{0x0020, {0, 1, 0, 0}}}));                          // XOR-MAPPED too short
  bad.push_back(request({{0x0020, {0, 3, 0, 0, 1, 2, 3, 4}}}));              // unknown family
  bad.push_back(request({{0x0009, {0, 0, 7, 0}}}));                          // error class 7
  bad.push_back(request({{0x000A, {0, 1, 0}}}));                             // odd UNKNOWN-ATTRIBUTES
  bad.push_back(request({{0x8028, {0, 0, 0, 0}}}));                          // wrong fingerprint
  bad.push_back(request({{0x0003, {0, 0}}}));                                // short CHANGE-REQUEST
  auto truncated_attr = request({{0x8022, {'a', 'b', 'c', 'd', 'e'}}});
  truncated_attr.resize(truncated_attr.size() - 4);
  truncated_attr[3] -= 4;
  bad.push_back(truncated_attr);
  for (size_t i = 0; i < bad.size(); ++i) {
    std::string why;
    EXPECT_FALSE(parse(bad[i], &why)) << i;
    EXPECT_FALSE(why.empty()) << i;
  }
}

TEST(StunBinding, AnswersWithTheSourceAddress) {
  auto from = v4("198.51.100.7", 40000);
  auto reply = answer_binding(request(), from, nullptr);
  ASSERT_TRUE(reply);
  auto r = parse(*reply, nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cls, Class::success);
  EXPECT_EQ(r->transaction, tid_with_cookie());
  EXPECT_EQ(r->xor_mapped, from);
  EXPECT_FALSE(r->mapped);
  EXPECT_TRUE(r->fingerprint);
  EXPECT_EQ(r->software, kSoftware);
  auto six = v6("2001:db8::9", 5);
  EXPECT_EQ(parse(*answer_binding(request(), six, nullptr), nullptr)->xor_mapped, six);
}

TEST(StunBinding, Rfc3489ClientsGetMappedAddress) {
  auto from = v4("198.51.100.7", 40000);
  // No magic cookie, and the CHANGE-REQUEST with no flags such clients always send.
  auto r = parse(*answer_binding(request({{0x0003, {0, 0, 0, 0}}}, false), from, nullptr), nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cls, Class::success);
  EXPECT_EQ(r->mapped, from);
  EXPECT_FALSE(r->xor_mapped);
  EXPECT_FALSE(r->fingerprint);
}

TEST(StunBinding, UnknownRequiredAttributesGet420AndOptionalOnesAreIgnored) {
  auto from = v4("198.51.100.7", 40000);
  auto r = parse(*answer_binding(request({{0x0024, {0, 0, 0, 1}}, {0x8029, {1, 2, 3, 4}}}), from, nullptr), nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cls, Class::error);
  EXPECT_EQ(r->error, 420);
  EXPECT_EQ(r->unknown_attributes, std::vector<uint16_t>{0x0024});
  auto ok = parse(*answer_binding(request({{0x8029, {1, 2, 3, 4}}}), from, nullptr), nullptr);
  EXPECT_EQ(ok->cls, Class::success);
  // Asking for another address or port: we have one of each.
  auto change = parse(*answer_binding(request({{0x0003, {0, 0, 0, 6}}}), from, nullptr), nullptr);
  EXPECT_EQ(change->error, 420);
  EXPECT_EQ(change->unknown_attributes, std::vector<uint16_t>{0x0003});
}

TEST(StunBinding, OtherMethodsGet400AndNonRequestsNothing) {
  auto from = v4("198.51.100.7", 40000);
  auto r = parse(*answer_binding(request({}, true, 0x003), from, nullptr), nullptr);  // Allocate
  EXPECT_EQ(r->error, 400);
  std::string why;
  EXPECT_FALSE(answer_binding(request({}, true, kBinding, Class::success), from, &why));
  EXPECT_EQ(why, "not a request");
  EXPECT_FALSE(answer_binding(request({}, true, kBinding, Class::indication), from, &why));
  EXPECT_FALSE(answer_binding(std::vector<uint8_t>{0, 1, 0}, from, &why));
}

// ---- ReflexiveProbe: the client side, against the Binding server in memory.

#include "stun/reflexive.hpp"

namespace {

// What `server` answers when `self` (as the server sees it) sends `bytes`.
std::vector<uint8_t> served(const std::vector<uint8_t>& bytes, const Address& seen_as) {
  return *answer_binding(bytes, seen_as, nullptr);
}

}  // namespace

TEST(StunReflexive, AsksDistinctIpsFirstAndClassifiesAnEndpointIndependentMapping) {
  ReflexiveProbe p({}, 42);
  auto s1 = v4("198.51.100.1", 51821), s1b = v4("198.51.100.1", 51822), s2 = v4("198.51.100.2", 51821),
       s3 = v4("198.51.100.3", 51821);
  auto sends = p.start({s1, s1b, s2, s3}, 1000);
  ASSERT_EQ(sends.size(), 3u);
  EXPECT_EQ(sends[0].to, s1);
  EXPECT_EQ(sends[1].to, s2);  // not s1b: another port of an IP already asked
  EXPECT_EQ(sends[2].to, s3);
  auto me = v4("203.0.113.9", 40000);
  for (const auto& s : sends) EXPECT_TRUE(p.on_response(served(s.bytes, me), s.to));
  EXPECT_FALSE(p.pending());
  EXPECT_EQ(p.reflexive(), me);
  EXPECT_EQ(p.mapping(), Mapping::endpoint_independent);
}

TEST(StunReflexive, DifferentMappingsPerServerMeanAddressDependent) {
  ReflexiveProbe p({}, 7);
  auto sends = p.start({v4("198.51.100.1", 1), v4("198.51.100.2", 1), v4("198.51.100.3", 1)}, 0);
  EXPECT_FALSE(p.reflexive());  // nothing finished yet
  EXPECT_TRUE(p.on_response(served(sends[0].bytes, v4("203.0.113.9", 40000)), sends[0].to));
  EXPECT_TRUE(p.on_response(served(sends[1].bytes, v4("203.0.113.9", 40001)), sends[1].to));
  EXPECT_TRUE(p.on_response(served(sends[2].bytes, v4("203.0.113.9", 40000)), sends[2].to));
  EXPECT_EQ(p.mapping(), Mapping::address_dependent);
  EXPECT_EQ(p.reflexive(), v4("203.0.113.9", 40000));  // the most common answer
}

TEST(StunReflexive, RetransmitsWithADoublingRtoThenGivesUp) {
  ReflexiveProbe p({500, 4, 3}, 1);
  auto sends = p.start({v4("198.51.100.1", 1), v4("198.51.100.2", 1)}, 0);
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(p.next_wakeup(), 500u);
  EXPECT_TRUE(p.on_timer(499).empty());
  EXPECT_EQ(p.on_timer(500).size(), 2u);   // 2nd attempt
  EXPECT_EQ(p.next_wakeup(), 1500u);       // then 1 s later
  EXPECT_TRUE(p.on_response(served(sends[0].bytes, v4("203.0.113.9", 4)), sends[0].to));
  EXPECT_EQ(p.on_timer(1500).size(), 1u);  // 3rd attempt, one server left
  EXPECT_EQ(p.on_timer(3500).size(), 1u);  // 4th
  EXPECT_TRUE(p.pending());
  EXPECT_TRUE(p.on_timer(7500).empty());   // out of attempts: the round ends
  EXPECT_FALSE(p.pending());
  EXPECT_EQ(p.reflexive(), v4("203.0.113.9", 4));
  EXPECT_EQ(p.mapping(), Mapping::unknown);  // one server answered: cannot classify
}

TEST(StunReflexive, IgnoresStrangersSpoofersAndRequests) {
  ReflexiveProbe p({}, 3);
  auto sends = p.start({v4("198.51.100.1", 1)}, 0);
  auto answer = served(sends[0].bytes, v4("203.0.113.9", 4));
  EXPECT_FALSE(p.on_response(answer, v4("198.51.100.66", 1)));  // right id, wrong server
  EXPECT_FALSE(p.on_response(sends[0].bytes, sends[0].to));        // a request, not an answer
  auto other = request();
  EXPECT_FALSE(p.on_response(served(other, v4("203.0.113.9", 4)), sends[0].to));  // unknown id
  EXPECT_TRUE(p.pending());
  EXPECT_TRUE(p.on_response(answer, sends[0].to));
}

// ---------------------------------------------------------------- control routes

TEST(ControlRoutes, UnheardMembersGetTheAdvertisedAddressAndEveryCandidate) {
  ControlRoutes routes(60'000);
  weft::crdt::OwnerId a{};
  a[0] = 1;
  auto t = routes.targets(a, "192.168.10.2:51821", {"203.0.113.10:51821", "192.168.10.2:51821"}, 1'000);
  EXPECT_EQ(t, (std::vector<std::string>{"192.168.10.2:51821", "203.0.113.10:51821"}));
  EXPECT_FALSE(routes.observed(a, 1'000));
}

TEST(ControlRoutes, AMemberHeardRecentlyIsAnsweredWhereItWasHeardUntilThatGoesStale) {
  ControlRoutes routes(60'000);
  weft::crdt::OwnerId a{}, b{};
  a[0] = 1;
  b[0] = 2;
  routes.heard(a, "203.0.113.20:40211", 10'000);
  EXPECT_EQ(routes.targets(a, "192.168.20.2:51821", {}, 20'000), std::vector<std::string>{"203.0.113.20:40211"});
  EXPECT_EQ(routes.targets(b, "10.0.0.2:51821", {}, 20'000), std::vector<std::string>{"10.0.0.2:51821"});
  // A later datagram from a new mapping moves the route; an out-of-order older time does not age it.
  routes.heard(a, "203.0.113.20:40999", 30'000);
  routes.heard(a, "203.0.113.20:40999", 5'000);
  EXPECT_EQ(routes.observed(a, 89'999), "203.0.113.20:40999");
  EXPECT_EQ(routes.targets(a, "192.168.20.2:51821", {"203.0.113.20:51821"}, 90'001),
            (std::vector<std::string>{"192.168.20.2:51821", "203.0.113.20:51821"}));
  routes.forget(a);
  EXPECT_EQ(routes.size(), 0u);
}

// One source gets its burst, then its rate; another source has its own budget; a full table of
// busy sources refuses a newcomer until idle ones age out.
TEST(SourceRateLimit, EachSourceGetsItsShareOfAnswers) {
  SourceRateLimit::Config c;
  c.per_s = 10;
  c.burst = 5;
  c.max_sources = 2;
  SourceRateLimit limit(c);
  Address a, b, other;
  a.ip[0] = 192, a.port = 1;
  b.ip[0] = 198, b.port = 2;
  other.ip[0] = 203;
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += limit.allow(a, 1'000) ? 1 : 0;
  EXPECT_EQ(allowed, 5);
  Address a_other_port = a;
  a_other_port.port = 9;
  EXPECT_FALSE(limit.allow(a_other_port, 1'000));  // one host, one budget
  EXPECT_TRUE(limit.allow(a, 1'100));              // 100 ms at 10/s: one more
  EXPECT_FALSE(limit.allow(a, 1'100));
  EXPECT_TRUE(limit.allow(b, 1'100));
  EXPECT_FALSE(limit.allow(other, 1'100));  // the table holds two busy sources
  EXPECT_TRUE(limit.allow(other, 3'000));   // b refilled by then and made room
  EXPECT_LE(limit.sources(), 2u);
}

