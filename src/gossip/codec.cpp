#include "gossip/codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>
#include <kj/exception.h>

#include <cstring>

#include "crdt/codec_capnp.hpp"
#include "schema/gossip.capnp.h"

namespace weft::gossip {

namespace {

using crdt::OwnerId;

constexpr size_t kMaxText = 253;
// Bounds on list lengths, checked before anything is allocated for them: a few bytes of packed
// input can announce a list of millions of (empty) elements. Sized for a full state of a few
// hundred machines with a few hundred leases each, with room to spare.
constexpr size_t kMaxRecords = 262'144;
constexpr size_t kMaxMembers = 16'384;
constexpr size_t kMaxSummaryEntries = 262'144;


capnp::ReaderOptions limits() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = 8 * 1024 * 1024;  // 64 MiB: a full-state sync of a large cluster
  o.nestingLimit = 16;
  return o;
}

// Any malformation throws inside the decoder; decode_message turns that into nullopt.
[[noreturn]] void malformed() { KJ_FAIL_REQUIRE("malformed gossip message"); }

template <typename List>
void check_length(const List& list, size_t max) {
  if (list.size() > max) malformed();
}


kj::ArrayPtr<const kj::byte> data(const OwnerId& id) { return kj::arrayPtr(id.data(), id.size()); }

OwnerId id_of(capnp::Data::Reader d) {
  if (d.size() != 32) malformed();
  OwnerId id;
  std::memcpy(id.data(), d.begin(), 32);
  return id;
}

std::string text_of(capnp::Text::Reader t) {
  if (t.size() > kMaxText) malformed();
  std::string s(t.cStr(), t.size());
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) malformed();
  return s;
}

crdt::Kind kind_of(schema::Kind k) {
  auto v = static_cast<uint16_t>(k);
  if (v >= crdt::kKindCount) malformed();
  return static_cast<crdt::Kind>(v);
}

template <typename ListBuilder>
void fill_records(ListBuilder list, const std::vector<crdt::Record>& records) {
  for (size_t i = 0; i < records.size(); ++i) crdt::fill_record(list[i], records[i]);
}

std::vector<crdt::Record> records_of(capnp::List<schema::SignedRecord>::Reader list) {
  check_length(list, kMaxRecords);
  std::vector<crdt::Record> out;
  for (auto r : list) {
    auto record = crdt::read_record(r);
    if (!record) malformed();
    out.push_back(std::move(*record));
  }
  return out;
}

void fill_update(schema::MemberUpdate::Builder b, const MemberUpdate& u) {
  b.setId(data(u.id));
  b.setIncarnation(u.incarnation);
  b.setState(static_cast<schema::MemberState>(u.state));
  b.setName(u.name);
  b.setAddress(u.address);
  // Only a suspicion or a death names who raised it; for alive and left it is redundant.
  if (u.state == MemberState::suspect || u.state == MemberState::dead) b.setFrom(data(u.from));
}

MemberUpdate update_of(schema::MemberUpdate::Reader r) {
  auto state = static_cast<uint16_t>(r.getState());
  if (state > 3) malformed();
  auto st = static_cast<MemberState>(state);
  bool names_from = st == MemberState::suspect || st == MemberState::dead;
  MemberUpdate u{id_of(r.getId()), r.getIncarnation(), st, text_of(r.getName()), text_of(r.getAddress()), {}};
  u.from = names_from ? id_of(r.getFrom()) : u.id;
  return u;
}

template <typename ListBuilder>
void fill_updates(ListBuilder list, const std::vector<MemberUpdate>& updates) {
  for (size_t i = 0; i < updates.size(); ++i) fill_update(list[i], updates[i]);
}

std::vector<MemberUpdate> updates_of(capnp::List<schema::MemberUpdate>::Reader list) {
  check_length(list, kMaxMembers);
  std::vector<MemberUpdate> out;
  for (auto u : list) out.push_back(update_of(u));
  return out;
}

template <typename ListBuilder>
void fill_digest(ListBuilder list, const crdt::Digest& digest) {
  size_t i = 0;
  for (const auto& [owner, d] : digest) {
    auto b = list[i++];
    b.setOwner(data(owner));
    b.setMax(d.max.raw);
    b.setCount(d.count);
    b.setHashLo(static_cast<uint64_t>(d.hash.value));
    b.setHashHi(static_cast<uint64_t>(d.hash.value >> 64));
  }
}

crdt::Digest digest_of(capnp::List<schema::OwnerDigest>::Reader list) {
  check_length(list, kMaxMembers);
  crdt::Digest out;
  for (auto d : list) {
    crdt::OwnerDigest od;
    od.max = crdt::Hlc{d.getMax()};
    od.count = d.getCount();
    od.hash.value = static_cast<unsigned __int128>(d.getHashHi()) << 64 | d.getHashLo();
    out[id_of(d.getOwner())] = od;
  }
  return out;
}

template <typename ListBuilder>
void fill_summaries(ListBuilder list, const std::vector<crdt::OwnerSummary>& summaries) {
  for (size_t i = 0; i < summaries.size(); ++i) {
    list[i].setOwner(data(summaries[i].owner));
    auto entries = list[i].initEntries(summaries[i].entries.size());
    for (size_t j = 0; j < summaries[i].entries.size(); ++j) {
      const auto& [kind, name, hlc] = summaries[i].entries[j];
      entries[j].setKind(static_cast<schema::Kind>(kind));
      entries[j].setName(name);
      entries[j].setHlc(hlc.raw);
    }
  }
}

std::vector<crdt::OwnerSummary> summaries_of(capnp::List<schema::OwnerSummary>::Reader list) {
  check_length(list, kMaxMembers);
  std::vector<crdt::OwnerSummary> out;
  size_t total = 0;
  for (auto s : list) {
    total += s.getEntries().size();
    if (total > kMaxSummaryEntries) malformed();
    crdt::OwnerSummary summary{id_of(s.getOwner()), {}};
    for (auto e : s.getEntries())
      summary.entries.emplace_back(kind_of(e.getKind()), text_of(e.getName()), crdt::Hlc{e.getHlc()});
    // The delta walk relies on (kind, name) order; refuse anything else.
    for (size_t i = 1; i < summary.entries.size(); ++i)
      if (!(std::tie(std::get<0>(summary.entries[i - 1]), std::get<1>(summary.entries[i - 1])) <
            std::tie(std::get<0>(summary.entries[i]), std::get<1>(summary.entries[i]))))
        malformed();
    out.push_back(std::move(summary));
  }
  return out;
}

void fill_body(schema::Message::Body::Builder b, const Body& body) {
  if (std::holds_alternative<std::monostate>(body)) {
    b.setGossip();
  } else if (const auto* p = std::get_if<Ping>(&body)) {
    auto ping = b.initPing();
    ping.setSeq(p->seq);
    ping.setTarget(data(p->target));
    ping.setStream(p->stream);
  } else if (const auto* a = std::get_if<Ack>(&body)) {
    if (a->stream)
      b.setStreamAck(a->seq);
    else
      b.setAck(a->seq);
  } else if (const auto* r = std::get_if<PingReq>(&body)) {
    auto req = b.initPingReq();
    req.setSeq(r->seq);
    req.setTarget(data(r->target));
    req.setTargetAddress(r->target_address);
  } else if (const auto* n = std::get_if<Nack>(&body)) {
    b.setNack(n->seq);
  } else if (const auto* pp = std::get_if<PushPull>(&body)) {
    auto out = b.initPushPull();
    out.setJoin(pp->join);
    fill_updates(out.initMembers(pp->members.size()), pp->members);
    auto sync = out.initSync();
    if (pp->offer) {
      auto o = sync.initOffer();
      o.setFrom(data(pp->offer->from));
      o.setFresh(pp->offer->fresh);
      fill_digest(o.initDigest(pp->offer->digest.size()), pp->offer->digest);
    } else if (pp->reply) {
      auto r2 = sync.initReply();
      r2.setFresh(pp->reply->fresh);
      fill_digest(r2.initDigest(pp->reply->digest.size()), pp->reply->digest);
      fill_records(r2.initRecords(pp->reply->records.size()), pp->reply->records);
      fill_summaries(r2.initSummaries(pp->reply->summaries.size()), pp->reply->summaries);
    } else {
      sync.setNone();
    }
  } else if (const auto* sp = std::get_if<SyncPush>(&body)) {
    auto out = b.initSyncPush();
    out.setFresh(sp->push.fresh);
    fill_records(out.initRecords(sp->push.records.size()), sp->push.records);
    fill_summaries(out.initSummaries(sp->push.summaries.size()), sp->push.summaries);
    auto wants = out.initWants(sp->push.wants.size());
    for (size_t i = 0; i < sp->push.wants.size(); ++i) {
      wants[i].setOwner(data(sp->push.wants[i].owner));
      wants[i].setKind(static_cast<schema::Kind>(sp->push.wants[i].kind));
      wants[i].setName(sp->push.wants[i].name);
    }
  } else if (const auto* sf = std::get_if<SyncFinish>(&body)) {
    fill_records(b.initSyncFinish().initRecords(sf->finish.records.size()), sf->finish.records);
  } else if (const auto* rb = std::get_if<RelayBind>(&body)) {
    b.initRelayBind().setPeer(data(rb->peer));
  } else if (const auto* rd = std::get_if<RelayBound>(&body)) {
    auto out = b.initRelayBound();
    out.setPeer(data(rd->peer));
    out.setChannel(rd->channel);
    out.setReady(rd->ready);
  } else if (const auto* sc = std::get_if<SyncCheck>(&body)) {
    auto out = b.initSyncCheck();
    out.setMembers(sc->members);
    out.setMembersHash(sc->members_hash);
    out.setRecords(sc->records);
    out.setRecordsHashHigh(static_cast<uint64_t>(sc->records_hash >> 64));
    out.setRecordsHashLow(static_cast<uint64_t>(sc->records_hash));
    out.setDiffers(sc->differs);
  }
}

Body body_of(schema::Message::Body::Reader b) {
  switch (b.which()) {
    case schema::Message::Body::GOSSIP: return std::monostate{};
    case schema::Message::Body::PING:
      return Ping{b.getPing().getSeq(), id_of(b.getPing().getTarget()), b.getPing().getStream()};
    case schema::Message::Body::ACK: return Ack{b.getAck(), false};
    case schema::Message::Body::STREAM_ACK: return Ack{b.getStreamAck(), true};
    case schema::Message::Body::PING_REQ:
      return PingReq{b.getPingReq().getSeq(), id_of(b.getPingReq().getTarget()),
                     text_of(b.getPingReq().getTargetAddress())};
    case schema::Message::Body::NACK: return Nack{b.getNack()};
    case schema::Message::Body::PUSH_PULL: {
      auto in = b.getPushPull();
      PushPull pp;
      pp.join = in.getJoin();
      pp.members = updates_of(in.getMembers());
      auto sync = in.getSync();
      if (sync.isOffer()) {
        auto o = sync.getOffer();
        pp.offer = crdt::SyncOffer{id_of(o.getFrom()), o.getFresh(), digest_of(o.getDigest())};
      } else if (sync.isReply()) {
        auto r = sync.getReply();
        pp.reply = crdt::SyncReply{r.getFresh(), digest_of(r.getDigest()), records_of(r.getRecords()),
                                   summaries_of(r.getSummaries())};
      }
      return pp;
    }
    case schema::Message::Body::SYNC_PUSH: {
      auto in = b.getSyncPush();
      SyncPush sp;
      sp.push.fresh = in.getFresh();
      sp.push.records = records_of(in.getRecords());
      sp.push.summaries = summaries_of(in.getSummaries());
      check_length(in.getWants(), kMaxRecords);
      for (auto w : in.getWants())
        sp.push.wants.push_back(crdt::RecordKey{id_of(w.getOwner()), kind_of(w.getKind()), text_of(w.getName())});
      return sp;
    }
    case schema::Message::Body::SYNC_FINISH:
      return SyncFinish{crdt::SyncFinish{records_of(b.getSyncFinish().getRecords())}};
    case schema::Message::Body::RELAY_BIND: return RelayBind{id_of(b.getRelayBind().getPeer())};
    case schema::Message::Body::RELAY_BOUND: {
      auto in = b.getRelayBound();
      return RelayBound{id_of(in.getPeer()), in.getChannel(), in.getReady()};
    }
    case schema::Message::Body::SYNC_CHECK: {
      auto in = b.getSyncCheck();
      return SyncCheck{in.getMembers(), in.getMembersHash(), in.getRecords(),
                       static_cast<unsigned __int128>(in.getRecordsHashHigh()) << 64 | in.getRecordsHashLow(), in.getDiffers()};
    }
  }
  malformed();
}

}  // namespace

namespace {

void fill_message(capnp::MessageBuilder& builder, const Message& m) {
  auto root = builder.initRoot<schema::Message>();
  fill_body(root.initBody(), m.body);
  if (!m.updates.empty()) fill_updates(root.initUpdates(m.updates.size()), m.updates);
  if (!m.records.empty()) fill_records(root.initRecords(m.records.size()), m.records);
}

// Counts what the packer writes and keeps none of it.
class ByteCounter final : public kj::BufferedOutputStream {
 public:
  kj::ArrayPtr<kj::byte> getWriteBuffer() override { return kj::arrayPtr(buffer_, sizeof buffer_); }
  void write(const void*, size_t size) override { bytes += size; }
  size_t bytes = 0;

 private:
  kj::byte buffer_[4096];
};

}  // namespace

std::string encode_message(const Message& m) {
  capnp::MallocMessageBuilder builder;
  fill_message(builder, m);
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, builder);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

size_t encoded_size(const Message& m) {
  // A first segment reused from call to call: zero at start (static storage), and the builder
  // zeroes what it used when it is destroyed, as MallocMessageBuilder requires of one given to it.
  // Its size is the default first segment's, so a message spills into more segments exactly as
  // encode_message's does (segment tables and far pointers count too).
  static thread_local capnp::word scratch[capnp::SUGGESTED_FIRST_SEGMENT_WORDS];
  capnp::MallocMessageBuilder builder(kj::arrayPtr(scratch, capnp::SUGGESTED_FIRST_SEGMENT_WORDS));
  fill_message(builder, m);
  ByteCounter out;
  capnp::writePackedMessage(out, builder);
  return out.bytes;
}

std::optional<Message> decode_message(std::span<const uint8_t> bytes, const MemberId& from) {
  if (bytes.empty()) return std::nullopt;
  std::optional<Message> result;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 kj::ArrayInputStream in(kj::arrayPtr(bytes.data(), bytes.size()));
                 capnp::PackedMessageReader reader(in, limits());
                 auto root = reader.getRoot<schema::Message>();
                 Message m;
                 m.from = from;
                 m.body = body_of(root.getBody());
                 m.updates = updates_of(root.getUpdates());
                 m.records = records_of(root.getRecords());
                 result = std::move(m);
               })) {
    return std::nullopt;
  }
  return result;
}

}  // namespace weft::gossip
