// The answer cache replays exactly what the slow path would send, with the query's id, flags
// and name case, and shuffles A records per hit.
#include <gtest/gtest.h>

#include <set>

#include "dns/answer_cache.hpp"
#include "dns/zone.hpp"

using namespace weft;
using namespace weft::dns;

namespace {

ZoneView view() {
  ZoneView v;
  v.network = *Ipv4Net::parse("10.210.0.0/16");
  for (uint32_t i = 2; i < 10; ++i) v.services["api"].push_back(Instance{Ipv4::parse("10.210.1.0")->value + i, 0, "", "", {}});
  return v;
}

// The slow path's answer to `q`, stored in the cache.
std::vector<uint8_t> slow(AnswerCache& cache, const std::vector<uint8_t>& q, const ZoneView& v, Rng& rng) {
  Parsed p = parse_query(q);
  auto r = answer(p.query, v, rng);
  auto bytes = encode_response(*r, p.query.edns ? kDefaultEdnsPayload : kMaxUdpWithoutEdns);
  cache.store(q, false, *r, bytes);
  return bytes;
}

std::multiset<uint32_t> a_records(const std::vector<uint8_t>& bytes) {
  std::multiset<uint32_t> out;
  size_t n = bytes[7], at = bytes.size() - n * 16;
  for (size_t i = 0; i < n; ++i, at += 16)
    out.insert(uint32_t{bytes[at + 12]} << 24 | uint32_t{bytes[at + 13]} << 16 | uint32_t{bytes[at + 14]} << 8 | bytes[at + 15]);
  return out;
}

}  // namespace

TEST(DnsCache, ReplaysWithTheQueriesIdFlagsAndCaseAndShufflesARecords) {
  auto v = view();
  Rng rng(1);
  AnswerCache cache;
  auto first = slow(cache, encode_query(1, *Name::parse_text("api.internal"), type::A, true, false), v, rng);
  ASSERT_EQ(cache.size(), 1u);
  std::set<std::vector<uint8_t>> orders;
  for (uint16_t id = 2; id < 40; ++id) {
    auto q = encode_query(id, *Name::parse_text("ApI.InTeRnAl"), type::A, false, false);
    std::vector<uint8_t> out;
    ASSERT_TRUE(cache.lookup(q, false, rng, out));
    EXPECT_EQ(peek_response(out)->id, id);
    EXPECT_EQ(out[2] & 0x01, 0);  // RD as asked this time
    EXPECT_EQ(std::string(out.begin() + 13, out.begin() + 16), "ApI");
    EXPECT_EQ(a_records(out), a_records(first));  // the same addresses...
    orders.insert(std::vector<uint8_t>(out.end() - 8 * 16, out.end()));
  }
  EXPECT_GT(orders.size(), 5u);  // ...in different orders
  EXPECT_EQ(cache.hits(), 38u);
}

TEST(DnsCache, KeysSeparateTypeEdnsAndTransportAndSkipWhatCannotBeReplayed) {
  auto v = view();
  Rng rng(1);
  AnswerCache cache;
  slow(cache, encode_query(1, *Name::parse_text("api.internal"), type::A, true, false), v, rng);
  std::vector<uint8_t> out;
  EXPECT_FALSE(cache.lookup(encode_query(2, *Name::parse_text("api.internal"), type::AAAA, true, false), false, rng, out));
  EXPECT_FALSE(cache.lookup(encode_query(2, *Name::parse_text("api.internal"), type::A, true, true), false, rng, out));
  EXPECT_FALSE(cache.lookup(encode_query(2, *Name::parse_text("api.internal"), type::A, true, false), true, rng, out));
  slow(cache, encode_query(3, *Name::parse_text("nearest.api.internal"), type::A, true, false), v, rng);
  EXPECT_EQ(cache.size(), 1u);  // nearest: order is not a plain shuffle
  slow(cache, encode_query(4, *Name::parse_text("nope.internal"), type::A, true, false), v, rng);
  auto nx = encode_query(5, *Name::parse_text("NOPE.internal"), type::A, true, false);
  ASSERT_TRUE(cache.lookup(nx, false, rng, out));
  EXPECT_EQ(peek_response(out)->rcode, rcode::nxdomain);
  auto compressed = std::vector<uint8_t>{0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  EXPECT_FALSE(cache.lookup(compressed, false, rng, out));
  cache.clear();
  EXPECT_FALSE(cache.lookup(nx, false, rng, out));
}

TEST(DnsCache, StaysBoundedAndAFullCacheKeepsAlmostAllOfItsWorkingSet) {
  auto v = view();
  Rng rng(1);
  AnswerCache cache;
  size_t n = AnswerCache::kMaxEntries;
  auto name = [](size_t i) { return *Name::parse_text("n" + std::to_string(i) + ".internal"); };
  for (size_t i = 0; i < n + 50; ++i) slow(cache, encode_query(1, name(i), type::A, true, false), v, rng);
  EXPECT_EQ(cache.size(), n);  // never above the bound
  // One new name evicts one entry, not the whole cache: the names just cached still hit.
  size_t hits = 0;
  std::vector<uint8_t> out;
  for (size_t i = 50; i < n + 50; ++i) hits += cache.lookup(encode_query(2, name(i), type::A, true, false), false, rng, out);
  EXPECT_GE(hits, n - 50);
}
