// DNS wire codec: queries in, responses out, compression, EDNS, truncation, bad input.
#include <gtest/gtest.h>

#include "dns/wire.hpp"

using namespace weft::dns;

namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> b) {
  std::vector<uint8_t> out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}

Name name(const std::string& s) { return *Name::parse_text(s); }

}  // namespace

TEST(DnsWire, ParsesAQueryKeepingTheCaseAsAsked) {
  auto q = encode_query(0x1234, name("Api.INTERNAL"), type::A, true, false);
  Parsed p = parse_query(q);
  ASSERT_EQ(p.kind, Parsed::Kind::query);
  EXPECT_EQ(p.query.id, 0x1234);
  EXPECT_TRUE(p.query.rd);
  EXPECT_EQ(p.query.question.name.text(), "Api.INTERNAL");
  EXPECT_EQ(p.query.question.name.lower_text(), "api.internal");
  EXPECT_EQ(p.query.question.qtype, type::A);
  EXPECT_FALSE(p.query.edns);
}

TEST(DnsWire, ReadsEdnsPayloadVersionAndDoBit) {
  auto q = encode_query(7, name("a.internal"), type::A, false, true, 4096);
  q[q.size() - 4] = 0x80;  // DO bit: the top bit of the OPT TTL's flags half
  Parsed p = parse_query(q);
  ASSERT_EQ(p.kind, Parsed::Kind::query);
  EXPECT_TRUE(p.query.edns);
  EXPECT_EQ(p.query.udp_payload, 4096);
  EXPECT_EQ(p.query.edns_version, 0);
  EXPECT_TRUE(p.query.dnssec_ok);
  auto small = encode_query(7, name("a.internal"), type::A, false, true, 100);
  EXPECT_EQ(parse_query(small).query.udp_payload, 512);  // below 512 counts as 512 (RFC 6891)
}

TEST(DnsWire, MalformedQueriesAreFormerrAndResponsesAreIgnored) {
  EXPECT_EQ(parse_query(bytes({1, 2, 3})).kind, Parsed::Kind::ignore);  // no header
  auto q = encode_query(9, name("a.internal"), type::A, true, false);
  auto response = q;
  response[2] |= 0x80;  // QR: a response must never be answered
  EXPECT_EQ(parse_query(response).kind, Parsed::Kind::ignore);
  auto truncated = q;
  truncated.resize(q.size() - 3);
  Parsed p = parse_query(truncated);
  EXPECT_EQ(p.kind, Parsed::Kind::formerr);
  EXPECT_EQ(p.query.id, 9);
  auto two_questions = q;
  two_questions[5] = 2;
  EXPECT_EQ(parse_query(two_questions).kind, Parsed::Kind::formerr);
  auto trailing = q;
  trailing.push_back(0);
  EXPECT_EQ(parse_query(trailing).kind, Parsed::Kind::formerr);
  auto notify = q;
  notify[2] = static_cast<uint8_t>(4 << 3);  // opcode NOTIFY
  EXPECT_EQ(parse_query(notify).kind, Parsed::Kind::notimp);
}

TEST(DnsWire, CompressionPointersMustPointBackwards) {
  // Header, then a question whose name is a pointer to itself (offset 12): a loop.
  auto loop = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1});
  EXPECT_EQ(parse_query(loop).kind, Parsed::Kind::formerr);
  auto forward = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 16, 0, 1, 0, 1, 1, 'a', 0});
  EXPECT_EQ(parse_query(forward).kind, Parsed::Kind::formerr);
  auto long_label = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40});
  EXPECT_EQ(parse_query(long_label).kind, Parsed::Kind::formerr);
}

TEST(DnsWire, NamesLongerThan255BytesAreRefused) {
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  EXPECT_FALSE(Name::parse_text(long_name).has_value());
  EXPECT_FALSE(Name::parse_text("a..b").has_value());
  EXPECT_FALSE(Name::parse_text(std::string(64, 'x')).has_value());
}

TEST(DnsWire, ResponsesCompressRepeatedNames) {
  Response r;
  r.id = 5;
  r.question = Question{name("api.internal"), type::A, kClassIn};
  for (uint32_t i = 0; i < 3; ++i) {
    Record a;
    a.name = name("api.internal");
    a.rtype = type::A;
    a.ttl = 5;
    a.a = 0x0AD20102 + i;
    r.answers.push_back(a);
  }
  auto out = encode_response(r, 512);
  // header 12 + question (14 + 4) + 3 answers of (2-byte pointer + 10 + 4) = 78
  EXPECT_EQ(out.size(), 12u + 18u + 3u * 16u);
  auto h = peek_response(out);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->id, 5);
  EXPECT_FALSE(h->tc);
}

TEST(DnsWire, AnAnswerThatDoesNotFitIsTruncatedWithTc) {
  Response r;
  r.id = 6;
  r.question = Question{name("big.internal"), type::A, kClassIn};
  for (uint32_t i = 0; i < 100; ++i) {
    Record a;
    a.name = name("big.internal");
    a.rtype = type::A;
    a.a = i;
    r.answers.push_back(a);
  }
  auto udp = encode_response(r, 512);
  EXPECT_LE(udp.size(), 512u);
  EXPECT_TRUE(peek_response(udp)->tc);
  EXPECT_EQ(udp[7], 0);  // no answers in a truncated response
  auto tcp = encode_response(r, 65535);
  EXPECT_FALSE(peek_response(tcp)->tc);
  EXPECT_EQ(tcp[7], 100);
}

TEST(DnsWire, ExtendedRcodeGoesIntoTheOptRecord) {
  Response r;
  r.id = 1;
  r.rcode = rcode::badvers;
  r.edns = true;
  auto out = encode_response(r, 512);
  EXPECT_EQ(out[3] & 0xF, 0);           // low 4 bits of 16
  EXPECT_EQ(out[out.size() - 6], 1);    // OPT TTL's first byte: 16 >> 4
}
