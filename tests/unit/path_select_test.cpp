// Endpoint candidates (which addresses a machine publishes, in which order a peer tries them)
// and per-peer path selection, driven by hand: virtual wall-clock time, no device.
#include <gtest/gtest.h>

#include "paths/candidates.hpp"
#include "paths/path_select.hpp"
#include "paths/relay.hpp"

#include <set>

using namespace weft;
using namespace weft::stun;
using namespace weft::paths;

namespace {

Ipv4 ip(const char* text) { return *Ipv4::parse(text); }
Ipv4Net net(const char* text) { return *Ipv4Net::parse(text); }
crdt::Endpoint ep(const char* address, uint16_t port = 51820) { return crdt::Endpoint{address, port}; }

}  // namespace

TEST(Candidates, InterfacesOfTheMeshBridgesDockerAndOtherTunnelsAreNotPublished) {
  std::vector<InterfaceAddress> all{{"lo", ip("127.0.0.1"), 8},          {"eth0", ip("192.168.10.2"), 24},
                                    {"weft", ip("10.210.3.1"), 32},       {"weft-br", ip("10.210.3.1"), 24},
                                    {"docker0", ip("172.17.0.1"), 16},    {"br-1a2b", ip("172.18.0.1"), 16},
                                    {"tailscale0", ip("100.101.1.2"), 32}, {"wg0", ip("10.8.0.2"), 24},
                                    {"eth1", ip("169.254.3.4"), 16},      {"ens5", ip("203.0.113.7"), 24},
                                    {"other", ip("10.210.9.9"), 24}};
  auto usable = usable_interfaces(all, net("10.210.0.0/16"), "weft", "weft-br");
  ASSERT_EQ(usable.size(), 2u);
  EXPECT_EQ(usable[0].interface_name, "eth0");
  EXPECT_EQ(usable[1].interface_name, "ens5");
}

TEST(Candidates, OwnOrderIsAdvertisedWgThenControlIpThenInterfacesThenReflexiveWithoutDuplicates) {
  std::vector<InterfaceAddress> ifs{{"eth0", ip("192.168.10.2"), 24}, {"eth1", ip("198.51.100.4"), 24}};
  auto c = own_candidates(ep("203.0.113.50", 4500), ip("192.168.10.2"), ifs, ip("203.0.113.10"), 51820);
  std::vector<crdt::Endpoint> want{ep("203.0.113.50", 4500), ep("192.168.10.2"), ep("198.51.100.4"), ep("203.0.113.10")};
  EXPECT_EQ(c, want);
  // Without NAT the reflexive address is an interface address: published once.
  c = own_candidates(std::nullopt, std::nullopt, ifs, ip("198.51.100.4"), 51820);
  EXPECT_EQ(c, (std::vector<crdt::Endpoint>{ep("192.168.10.2"), ep("198.51.100.4")}));
}

TEST(Candidates, RankedSameLanFirstThenPublicThenOtherPrivateThenObserved) {
  std::vector<crdt::Endpoint> published{ep("10.1.2.3"), ep("192.168.10.2"), ep("203.0.113.10"), ep("192.168.10.2")};
  std::vector<crdt::Endpoint> observed{ep("203.0.113.10", 61000), ep("203.0.113.10")};
  auto r = rank_candidates(published, observed, {net("192.168.10.0/24")});
  std::vector<crdt::Endpoint> want{ep("192.168.10.2"), ep("203.0.113.10"), ep("10.1.2.3"), ep("203.0.113.10", 61000)};
  EXPECT_EQ(r, want);
  // From elsewhere, the same list starts with the public address.
  r = rank_candidates(published, {}, {net("198.51.100.0/24")});
  EXPECT_EQ(r.front(), ep("203.0.113.10"));
  EXPECT_TRUE(is_private(ip("100.64.1.1")));
  EXPECT_FALSE(is_private(ip("203.0.113.10")));
}

// ---------------------------------------------------------------- path selection

namespace {

constexpr uint64_t kEpoch = 1'700'000'000'000;

PathInputs inputs(uint64_t now, std::vector<std::string> candidates) {
  PathInputs in;
  in.now = now;
  in.epoch = kEpoch;
  in.candidates = std::move(candidates);
  return in;
}

// A selector whose one round over `candidate` found nothing, now on the relay (at kEpoch + 16 s).
PathInputs on_relay(PathSelector& sel, const std::string& candidate) {
  auto in = inputs(kEpoch + 1'000, {candidate});
  in.relay = "127.0.0.1:40100";
  sel.step(in);
  in.now = kEpoch + 16'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::relay);
  return in;
}

}  // namespace

TEST(PathSelect, TriesOneCandidatePerSlotWithAShortKeepaliveUntilAHandshake) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"192.168.10.2:51820", "203.0.113.10:51820"});
  auto c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::trying);
  EXPECT_EQ(c.endpoint, "192.168.10.2:51820");
  EXPECT_EQ(c.keepalive, 1);
  EXPECT_TRUE(c.kick);     // send at once to the new candidate
  EXPECT_TRUE(c.restart);  // no session yet: a fresh peer initiates at once
  in.device_endpoint = c.endpoint;
  in.now += 1'000;
  EXPECT_FALSE(sel.step(in).kick);  // once per candidate
  in.now = kEpoch + 15'000;  // the next slot, on both ends at once
  c = sel.step(in);
  EXPECT_EQ(c.endpoint, "203.0.113.10:51820");
  in.device_endpoint = c.endpoint;
  in.now = kEpoch + 17'000;
  in.last_handshake_ms = kEpoch + 16'500;
  c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::direct);
  EXPECT_EQ(c.endpoint, "203.0.113.10:51820");
  EXPECT_EQ(c.keepalive, 25);
  // Stays direct while handshakes keep coming, whatever the slot.
  in.now = kEpoch + 200'000;
  in.last_handshake_ms = kEpoch + 140'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::direct);
}

TEST(PathSelect, BothEndsOfAPairPickTheSameSlotFromTheSharedEpoch) {
  // A and C each rank the other's two candidates; they started at different moments but rotate
  // together, so both send to the reflexive candidates in the same 15 s.
  PathSelector a, c;
  auto ina = inputs(kEpoch + 2'000, {"192.168.30.2:51820", "203.0.113.30:51820"});
  auto inc = inputs(kEpoch + 9'000, {"192.168.10.2:51820", "203.0.113.10:51820"});
  EXPECT_EQ(a.step(ina).endpoint, "192.168.30.2:51820");
  EXPECT_EQ(c.step(inc).endpoint, "192.168.10.2:51820");
  ina.now = inc.now = kEpoch + 16'000;
  EXPECT_EQ(a.step(ina).endpoint, "203.0.113.30:51820");
  EXPECT_EQ(c.step(inc).endpoint, "203.0.113.10:51820");
}

TEST(PathSelect, AHandshakeFromBeforeTheCandidateWasSetDoesNotCount) {
  PathSelector sel;
  auto in = inputs(kEpoch + 30'000, {"203.0.113.10:51820"});
  in.last_handshake_ms = kEpoch;  // an old session
  in.device_endpoint = "203.0.113.10:51820";
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);
  in.now += 1'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);
  in.rx_bytes = 92;  // then packets arrive from there
  in.now += 1'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::direct);
}

TEST(PathSelect, ARoamedEndpointIsAdoptedAndADeadPathStartsANewRound) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"203.0.113.10:51820"});
  sel.step(in);
  in.device_endpoint = "203.0.113.10:51820";
  in.last_handshake_ms = kEpoch + 1'500;
  in.now = kEpoch + 2'000;
  ASSERT_EQ(sel.step(in).kind, PathKind::direct);
  in.device_endpoint = "203.0.113.10:40001";  // the peer's NAT moved it; WireGuard followed
  in.now = kEpoch + 3'000;
  auto c = sel.step(in);
  EXPECT_EQ(c.endpoint, "203.0.113.10:40001");
  EXPECT_EQ(c.kind, PathKind::direct);
  in.now = in.last_handshake_ms + 275'001;
  c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::trying);
  EXPECT_NE(c.reason.find("no handshake"), std::string::npos);
}

TEST(PathSelect, NoCandidatesLeavesTheEndpointToThePeer) {
  PathSelector sel;
  auto c = sel.step(inputs(kEpoch, {}));
  EXPECT_EQ(c.kind, PathKind::none);
  EXPECT_EQ(c.endpoint, "");
}

TEST(PathSelect, AfterAFailedRoundTheRelayCarriesThePairAndDirectIsRetriedWhenCandidatesChange) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"192.168.20.2:51820", "203.0.113.20:51820"});
  in.relay = "127.0.0.1:40100";
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);
  in.now = kEpoch + 16'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);
  in.now = kEpoch + 31'000;  // both candidates had their slot
  auto c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::relay);
  EXPECT_EQ(c.endpoint, "127.0.0.1:40100");
  EXPECT_EQ(c.keepalive, 25);
  // Packets through the relay: still the relay.
  in.device_endpoint = "127.0.0.1:40100";
  in.rx_bytes = 500;
  in.last_handshake_ms = kEpoch + 32'000;
  in.now = kEpoch + 60'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::relay);
  // The peer's NAT changed: new candidates, a new epoch on both ends, a new direct round.
  in.epoch = kEpoch + 70'000;
  in.now = kEpoch + 71'000;
  c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::trying);
  EXPECT_EQ(c.endpoint, "192.168.20.2:51820");
  EXPECT_TRUE(c.kick);
  EXPECT_FALSE(c.restart);  // the relayed session is alive: keep it, just send
}

TEST(PathSelect, OnTheRelayDirectIsRetriedEveryTenMinutesAndAPeerReachingUsDirectlyIsFollowed) {
  PathSelector sel;
  auto in = on_relay(sel, "203.0.113.20:51820");
  in.now = kEpoch + 600'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);
  in.now = kEpoch + 616'000;
  ASSERT_EQ(sel.step(in).kind, PathKind::relay);
  in.device_endpoint = "203.0.113.20:51820";  // the peer got through on its own
  in.rx_bytes = 64;
  in.last_handshake_ms = in.now;
  in.now += 1'000;
  auto c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::direct);
  EXPECT_EQ(c.endpoint, "203.0.113.20:51820");
}

// Both ends' rounds end in the same slot, but one a moment first: its handshake over the relay
// reaches the other while that one still tries a candidate. WireGuard follows the packets to
// the relay and the device gets the candidate back; the handshake must not pass for direct.
TEST(PathSelect, AHandshakeThatCameOverTheRelayDoesNotMakeTheCandidateDirect) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"203.0.113.20:51820", "203.0.113.20:52650"});
  in.relay = "127.0.0.1:40100";
  sel.step(in);
  in.device_endpoint = "203.0.113.20:51820";
  in.now = kEpoch + 16'000;
  ASSERT_EQ(sel.step(in).endpoint, "203.0.113.20:52650");
  in.device_endpoint = "203.0.113.20:52650";
  in.now = kEpoch + 29'000;
  ASSERT_EQ(sel.step(in).kind, PathKind::trying);
  // The peer's round ended: its handshake arrives over the relay; WireGuard roams there.
  in.last_handshake_ms = kEpoch + 29'400;
  in.rx_bytes = 148;
  in.device_endpoint = "127.0.0.1:40100";
  in.now = kEpoch + 29'500;
  auto c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::trying);
  EXPECT_EQ(c.endpoint, "203.0.113.20:52650");  // the device gets the candidate back
  in.device_endpoint = c.endpoint;
  in.now = kEpoch + 29'800;
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);  // the relayed handshake is no evidence
  in.now = kEpoch + 31'000;  // our round ends too: the relay
  c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::relay);
  EXPECT_EQ(c.endpoint, "127.0.0.1:40100");
}

// Found by weft-sim's paths scenario (an endpoint-independent NAT against a symmetric one): we
// move to the next candidate, and in the same second the peer, whose round has ended, hands
// shakes over the relay. WireGuard roams to the relay; the plan puts our candidate back. That
// handshake is within a second of the choice, but it came over the relay: no evidence.
TEST(PathSelect, ARelayedHandshakeAsWeMoveToTheNextCandidateIsNoEvidenceForIt) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"203.0.113.20:51820", "203.0.113.20:52650"});
  in.relay = "127.0.0.1:40100";
  ASSERT_EQ(sel.step(in).endpoint, "203.0.113.20:51820");
  in.device_endpoint = "203.0.113.20:51820";
  in.now = kEpoch + 2'000;
  ASSERT_EQ(sel.step(in).kind, PathKind::trying);
  in.now = kEpoch + 16'000;
  auto c = sel.step(in);
  ASSERT_EQ(c.endpoint, "203.0.113.20:52650");
  // Before the device takes it, the peer's handshake arrives over the relay.
  in.device_endpoint = "127.0.0.1:40100";
  in.last_handshake_ms = kEpoch + 16'000;
  in.rx_bytes = 148;
  in.now = kEpoch + 17'000;
  c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::trying);
  EXPECT_EQ(c.endpoint, "203.0.113.20:52650");
  in.device_endpoint = c.endpoint;  // the plan puts the candidate back
  in.now = kEpoch + 18'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);  // nothing came through the candidate
  in.now = kEpoch + 31'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::relay);
}

// A new round begins while the device still holds the relay: that is our own last choice, not a
// roam. The peer's round began a moment earlier and its handshake reached us through the
// candidate just before ours began (e2e nat_paths once stayed on the relay for this): it counts.
TEST(PathSelect, TheRelayStillOnTheDeviceWhenARoundBeginsIsNoRoam) {
  PathSelector sel;
  auto in = on_relay(sel, "203.0.113.20:51820");
  in.device_endpoint = "127.0.0.1:40100";
  in.last_handshake_ms = kEpoch + 17'000;
  in.rx_bytes = 300;
  in.now = kEpoch + 60'000;
  ASSERT_EQ(sel.step(in).kind, PathKind::relay);
  // The peer's NAT changed: both ends start a round. The peer's began 16 ms before ours, and its
  // handshake through the candidate completed before our first step of the round.
  in.epoch = kEpoch + 70'000;
  in.last_handshake_ms = kEpoch + 70'143;
  in.rx_bytes = 392;
  in.now = kEpoch + 70'159;
  auto c = sel.step(in);
  ASSERT_EQ(c.kind, PathKind::trying);
  ASSERT_EQ(c.endpoint, "203.0.113.20:51820");
  in.device_endpoint = c.endpoint;  // the device takes our choice; the peer sends nothing more
  in.now = kEpoch + 71'159;
  EXPECT_EQ(sel.step(in).kind, PathKind::direct);
}

// Both ends try each other at once; the packet of the end that sends first is dropped by the
// other's NAT, which had not sent yet. The end that sent second hears the first and turns
// direct: it must send at once, or the first end never hears anything (the packets it keeps
// sending push the second end's persistent keepalive back, so the second would stay silent) and
// falls back to the relay although the path works (e2e nat_paths, ASan build, twice).
TEST(PathSelect, TurningDirectSendsAtOnceSoThePeerHearsThePathToo) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"203.0.113.10:51820"});
  in.last_handshake_ms = kEpoch - 60'000;  // a live session from before (over the relay)
  ASSERT_TRUE(sel.step(in).kick);
  in.device_endpoint = "203.0.113.10:51820";
  in.rx_bytes = 32;  // the peer's keepalive came through
  in.now = kEpoch + 2'000;
  auto c = sel.step(in);
  EXPECT_EQ(c.kind, PathKind::direct);
  EXPECT_TRUE(c.kick);
  EXPECT_FALSE(c.restart);  // the session is alive: send on it
  in.now = kEpoch + 3'000;
  EXPECT_FALSE(sel.step(in).kick);  // once
}

// A round where the relay roam was seen still takes a real direct answer that comes later.
TEST(PathSelect, AfterARelayRoamADirectAnswerStillCounts) {
  PathSelector sel;
  auto in = inputs(kEpoch + 1'000, {"203.0.113.20:51820"});
  in.relay = "127.0.0.1:40100";
  sel.step(in);
  in.device_endpoint = "127.0.0.1:40100";  // a relayed packet from before the round
  in.rx_bytes = 92;
  in.now = kEpoch + 2'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::trying);
  in.device_endpoint = "203.0.113.20:51820";
  in.rx_bytes = 184;  // then the peer answers at the candidate
  in.now = kEpoch + 3'000;
  EXPECT_EQ(sel.step(in).kind, PathKind::direct);
}

// ---------------------------------------------------------------- relay

namespace {

Address at(uint8_t host, uint16_t port) {
  Address a;
  a.ip = {203, 0, 113, host};
  a.port = port;
  return a;
}

crdt::OwnerId id(uint8_t b) {
  crdt::OwnerId o{};
  o[0] = b;
  return o;
}

}  // namespace

TEST(RelayFrame, HeaderRoundTripsAndShortOrForeignBytesAreNotFrames) {
  std::vector<uint8_t> bytes(kRelayHeader + 4, 0xAB);
  encode_relay_header(bytes.data(), 0x0102030405060708ULL);
  EXPECT_EQ(bytes[0], kRelayDataType);
  auto f = decode_relay_frame(bytes);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->channel, 0x0102030405060708ULL);
  EXPECT_EQ(f->payload.size(), 4u);
  EXPECT_FALSE(decode_relay_frame(std::span(bytes).first(kRelayHeader)));  // no payload
  bytes[0] = 0xC8;
  EXPECT_FALSE(decode_relay_frame(bytes));
}

TEST(RelayTable, ForwardsOnlyBetweenTheTwoBoundEndsOfAPair) {
  RelayTable t({}, 1);
  auto a = t.bind(id(1), id(2), at(10, 51821), 1'000);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->ready);  // the other end has not bound yet
  EXPECT_FALSE(t.forward(a->channel, at(10, 51821), 1'001));
  EXPECT_EQ(t.counters().peer_unbound, 1u);
  auto b = t.bind(id(2), id(1), at(20, 40000), 1'002);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->ready);
  EXPECT_EQ(b->channel, a->channel);  // one channel per pair, whoever binds first
  EXPECT_EQ(t.forward(a->channel, at(10, 51821), 1'003), at(20, 40000));
  EXPECT_EQ(t.forward(a->channel, at(20, 40000), 1'003), at(10, 51821));
  // Another source, even the right host on another port, or another channel: dropped.
  EXPECT_FALSE(t.forward(a->channel, at(10, 51822), 1'004));
  EXPECT_FALSE(t.forward(a->channel, at(30, 51821), 1'004));
  EXPECT_FALSE(t.forward(a->channel + 1, at(10, 51821), 1'004));
  EXPECT_EQ(t.counters().wrong_source, 2u);
  EXPECT_EQ(t.counters().unknown_channel, 1u);
  // An end's NAT mapping moved: its next bind moves it.
  t.bind(id(2), id(1), at(20, 40001), 2'000);
  EXPECT_FALSE(t.forward(a->channel, at(20, 40000), 2'001));
  EXPECT_EQ(t.forward(a->channel, at(20, 40001), 2'001), at(10, 51821));
  EXPECT_FALSE(t.bind(id(3), id(3), at(30, 1), 2'002));  // not a pair
}

TEST(RelayTable, BindingsExpireUnlessRefreshed) {
  RelayTable t({}, 1);
  auto ch = t.bind(id(1), id(2), at(10, 1), 0)->channel;
  t.bind(id(2), id(1), at(20, 2), 0);
  t.bind(id(1), id(2), at(10, 1), 50'000);
  t.expire(61'000);  // end 2 went quiet
  EXPECT_FALSE(t.forward(ch, at(10, 1), 61'000));
  EXPECT_EQ(t.pairs(), 1u);
  t.expire(111'000);
  EXPECT_EQ(t.pairs(), 0u);
  EXPECT_EQ(t.counters().expired, 2u);
}

TEST(RelayTable, PerPairAndTotalRatesAndATableLimit) {
  RelayTable::Config c;
  c.pair_pps = 100;  // a tenth of a second banked: 10 packets at once
  c.total_pps = 1'000'000;
  c.max_pairs = 1;
  RelayTable t(c, 1);
  auto ch = t.bind(id(1), id(2), at(10, 1), 0)->channel;
  t.bind(id(2), id(1), at(20, 2), 0);
  int passed = 0;
  for (int i = 0; i < 50; ++i) passed += t.forward(ch, at(10, 1), 0) ? 1 : 0;
  EXPECT_EQ(passed, 10);
  EXPECT_EQ(t.counters().rate_limited, 40u);
  EXPECT_TRUE(t.forward(ch, at(10, 1), 100));  // 10 ms later: one more token
  EXPECT_FALSE(t.bind(id(3), id(4), at(30, 3), 0));  // the table is full
  EXPECT_EQ(t.counters().refused_binds, 1u);
}

// One member binding made-up peers (4,100 of them once filled the 4,096 slots) stops at its
// share; others still bind, and the share comes back as its pairs expire.
TEST(RelayTable, OneMemberCannotFillTheTable) {
  RelayTable::Config c;
  c.max_pairs = 64;
  c.max_pairs_per_member = 8;
  RelayTable t(c, 1);
  int bound = 0;
  for (uint8_t peer = 10; peer < 110; ++peer) bound += t.bind(id(1), id(peer), at(10, 1), 0) ? 1 : 0;
  EXPECT_EQ(bound, 8);
  EXPECT_EQ(t.counters().refused_quota, 92u);
  EXPECT_EQ(t.counters().refused_full, 0u);
  // The peer end of a pair that member 1 opened binds it without using a share of its own.
  EXPECT_TRUE(t.bind(id(10), id(1), at(20, 2), 0));
  EXPECT_TRUE(t.bind(id(2), id(3), at(30, 3), 0));
  t.expire(61'000);
  EXPECT_EQ(t.pairs(), 0u);
  EXPECT_TRUE(t.bind(id(1), id(200), at(10, 1), 61'000));  // its share is back
}

TEST(RelayPick, BothEndsPickTheSameRelayAndNeverAnEnd) {
  std::vector<crdt::OwnerId> capable{id(1), id(5), id(6), id(7)};
  auto r1 = pick_relay(id(1), id(2), capable);
  auto r2 = pick_relay(id(2), id(1), capable);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1, r2);
  EXPECT_NE(*r1, id(1));
  EXPECT_FALSE(pick_relay(id(1), id(2), {id(1), id(2)}));
  // Pairs spread over relays.
  std::set<crdt::OwnerId> used;
  for (uint8_t a = 10; a < 40; ++a) used.insert(*pick_relay(id(a), id(a + 100), capable));
  EXPECT_GE(used.size(), 3u);
}
