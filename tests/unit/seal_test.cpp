#include <gtest/gtest.h>

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include "gossip/codec.hpp"
#include "schema/gossip.capnp.h"
#include "gossip/seal.hpp"
#include "support/keys.hpp"

using namespace weft;
using namespace weft::gossip;

namespace {

constexpr uint64_t kNow = 1'700'000'000'000;

ClusterKey key_of(uint8_t b) {
  ClusterKey k;
  k.fill(b);
  return k;
}

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST(Seal, RoundTripsAndNamesTheSender) {
  MemberId a = test::test_key(1).public_key();
  FrameSealer sender(Keyring(key_of(7)), a, 1), receiver(Keyring(key_of(7)), test::test_key(2).public_key(), 2);
  auto frame = sender.seal("hello", kNow);
  EXPECT_EQ(frame[0], static_cast<char>(kSealedFrameType));
  EXPECT_EQ(frame.find("hello"), std::string::npos);  // encrypted
  auto opened = receiver.open(bytes(frame));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->payload, "hello");
  EXPECT_EQ(opened->sender, a);
}

TEST(Seal, WrongKeyTamperingTruncationAndForeignBytesAreDroppedAndCounted) {
  MemberId a = test::test_key(1).public_key();
  FrameSealer sender(Keyring(key_of(7)), a, 1), other_cluster(Keyring(key_of(8)), a, 3);
  FrameSealer receiver(Keyring(key_of(7)), test::test_key(2).public_key(), 2);
  OpenError why;
  EXPECT_FALSE(receiver.open(bytes(other_cluster.seal("x", kNow)), &why));
  EXPECT_EQ(why, OpenError::unknown_key);
  auto frame = sender.seal("payload", kNow);
  for (size_t i = 1; i < frame.size(); i += 7) {
    auto bad = frame;
    bad[i] ^= 0x01;
    EXPECT_FALSE(receiver.open(bytes(bad), &why)) << i;
  }
  EXPECT_FALSE(receiver.open(bytes(frame.substr(0, 20)), &why));
  EXPECT_EQ(why, OpenError::too_short);
  std::string stun(120, '\0');  // STUN's first byte is 0-3
  EXPECT_FALSE(receiver.open(bytes(stun), &why));
  EXPECT_EQ(why, OpenError::not_sealed);
  EXPECT_GT(receiver.dropped(OpenError::auth_failed) + receiver.dropped(OpenError::unknown_key), 0u);
  EXPECT_TRUE(receiver.open(bytes(frame)));  // the untouched frame still opens
}

TEST(Seal, ReplaysAreDroppedReorderingWithinTheWindowIsNot) {
  MemberId a = test::test_key(1).public_key();
  FrameSealer sender(Keyring(key_of(7)), a, 1), receiver(Keyring(key_of(7)), test::test_key(2).public_key(), 2);
  auto f1 = sender.seal("1", kNow), f2 = sender.seal("2", kNow + 5), f3 = sender.seal("3", kNow + 5000);
  auto late = sender.seal("late", kNow + 20'000);
  EXPECT_TRUE(receiver.open(bytes(f2)));
  EXPECT_TRUE(receiver.open(bytes(f1)));  // reordered, within 10 s: fine
  OpenError why;
  EXPECT_FALSE(receiver.open(bytes(f1), &why));  // replayed
  EXPECT_EQ(why, OpenError::replayed);
  EXPECT_TRUE(receiver.open(bytes(late)));
  EXPECT_FALSE(receiver.open(bytes(f3), &why));  // 15 s older than the newest: outside the window
  EXPECT_EQ(why, OpenError::replayed);
}

TEST(Seal, KeyRotationThroughTheKeyring) {
  MemberId a = test::test_key(1).public_key(), b = test::test_key(2).public_key();
  FrameSealer x(Keyring(key_of(1)), a, 1), y(Keyring(key_of(1)), b, 2);
  y.keyring().install(key_of(2));  // step 1: everyone installs the new key
  x.keyring().install(key_of(2));
  ASSERT_TRUE(x.keyring().make_primary(key_of(2)));  // step 2: x seals with it
  EXPECT_TRUE(y.open(bytes(x.seal("new", kNow))));
  EXPECT_TRUE(x.open(bytes(y.seal("old", kNow))));  // y still seals with the old one
  EXPECT_FALSE(y.keyring().remove(key_of(1)));       // the primary cannot be removed
  ASSERT_TRUE(y.keyring().make_primary(key_of(2)));
  ASSERT_TRUE(y.keyring().remove(key_of(1)));        // step 3: the old key goes
  EXPECT_FALSE(y.open(bytes(FrameSealer(Keyring(key_of(1)), a, 9).seal("stale", kNow + 1))));
}

TEST(GossipCodec, EveryBodyRoundTrips) {
  auto k = test::test_key(1);
  auto replica = test::test_replica(1);
  auto record = replica.put(crdt::Kind::service_instance, "api", test::service_value("api", "10.210.1.2"), kNow);
  MemberUpdate u{k.public_key(), 3, MemberState::suspect, "m1", "127.0.0.1:51821", test::test_key(2).public_key()};
  std::vector<Body> bodies{std::monostate{}, Ping{7, k.public_key(), false}, Ack{8, false},
                           Ping{7, k.public_key(), true}, Ack{8, true}, PingReq{9, k.public_key(), "127.0.0.1:1"},
                           Nack{10}};
  PushPull pp;
  pp.join = true;
  pp.members = {u};
  pp.offer = crdt::make_offer(replica, kNow);
  bodies.push_back(pp);
  PushPull reply;
  reply.reply = crdt::SyncReply{true, replica.state().digest(), {record}, {replica.state().summary(replica.id())}};
  bodies.push_back(reply);
  bodies.push_back(SyncPush{crdt::SyncPush{false, {record}, {}, {record.key}}});
  bodies.push_back(SyncFinish{crdt::SyncFinish{{record}}});
  bodies.push_back(RelayBind{test::test_key(2).public_key()});
  bodies.push_back(RelayBound{test::test_key(2).public_key(), 0x0123456789abcdefULL, true});
  bodies.push_back(SyncCheck{1000, 0xfeedfacecafebeefULL, 3001, static_cast<unsigned __int128>(0x0102030405060708ULL) << 64 | 0x1112131415161718ULL, true});
  for (const auto& body : bodies) {
    Message m;
    m.from = k.public_key();
    m.body = body;
    m.updates = {u};
    m.records = {record};
    auto bytes = encode_message(m);
    auto back = decode_message({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, m.from);
    ASSERT_TRUE(back) << body.index();
    EXPECT_EQ(back->body.index(), body.index());
    EXPECT_EQ(is_stream(*back), is_stream(m)) << body.index();
    EXPECT_EQ(back->from, m.from);
    EXPECT_EQ(back->updates, m.updates);
    EXPECT_EQ(back->records, m.records);
    EXPECT_EQ(encode_message(*back), bytes) << body.index();
    EXPECT_EQ(encoded_size(m), bytes.size()) << body.index();
  }
}

TEST(GossipCodec, EncodedSizeIsTheEncodingsSizeForSmallAndHugeMessagesAlike) {
  // Big messages outgrow encoded_size's reused first segment; small ones after them must find it
  // zeroed again (a dirty segment packs differently).
  auto replica = test::test_replica(1);
  Message big;
  for (int i = 0; i < 400; ++i)
    big.records.push_back(replica.put(crdt::Kind::service_instance, "svc" + std::to_string(i),
                                      test::service_value("svc" + std::to_string(i), "10.210.1.2"), kNow + i));
  Message small;
  small.body = Ack{1, false};
  for (int round = 0; round < 3; ++round) {
    auto big_bytes = encode_message(big);
    ASSERT_GT(big_bytes.size(), 32u * 1024);  // several segments
    EXPECT_EQ(encoded_size(big), big_bytes.size());
    EXPECT_EQ(encoded_size(small), encode_message(small).size());
  }
}

TEST(GossipCodec, MalformedMessagesAreRefused) {
  Message m;
  m.from = test::test_key(1).public_key();
  m.body = Ping{1, m.from, false};
  auto good = encode_message(m);
  for (size_t len = 0; len < good.size(); len += 8)
    EXPECT_FALSE(decode_message({reinterpret_cast<const uint8_t*>(good.data()), len}, m.from)) << len;
  m.updates.push_back(MemberUpdate{m.from, 1, MemberState::alive, std::string("a\nb"), "x", m.from});
  auto bad = encode_message(m);  // a control character in a member name
  EXPECT_FALSE(decode_message({reinterpret_cast<const uint8_t*>(bad.data()), bad.size()}, m.from));
}

// Regression (found by gossip_frame_fuzz): a few hundred bytes of packed input announced a list
// of millions of records, and the decoder reserved memory for all of them before reading one.
TEST(GossipCodec, HugeAnnouncedListsAreRefusedWithoutAllocating) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::Message>();
  root.initBody().setGossip();
  root.initRecords(300'000);  // empty records, far beyond the limit
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, builder);
  auto bytes = out.getArray();
  EXPECT_LT(bytes.size(), 200'000u);  // zeros pack away: tiny input, huge announced list
  MemberId from{};
  EXPECT_FALSE(decode_message({bytes.begin(), bytes.size()}, from));
}
