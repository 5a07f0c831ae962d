// Gossip messages as plain values. The membership core consumes and produces these; the codec
// (gossip/codec.*) turns them into Cap'n Proto bytes and the sealer (gossip/seal.*) encrypts
// them with the cluster key. The simulator can pass them without either.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crdt/anti_entropy.hpp"
#include "crdt/record.hpp"

namespace weft::gossip {

using MemberId = crdt::OwnerId;

enum class MemberState : uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
const char* state_name(MemberState state);

// One fact about a member, as disseminated: alive carries name and address, suspect and dead
// carry who suspected it.
struct MemberUpdate {
  MemberId id{};
  uint64_t incarnation = 0;
  MemberState state = MemberState::alive;
  std::string name;
  std::string address;  // control address "ip:port" ("[v6]:port")
  MemberId from{};
  bool operator==(const MemberUpdate&) const = default;
};

struct Ping {
  uint32_t seq = 0;
  MemberId target{};  // so a ping that reaches the wrong machine at a reused address is ignored
  // The fallback after failed datagram probes (memberlist's TCP ping): over the stream
  // transport, which retransmits, so a lossy path alone does not make a member suspect.
  bool stream = false;
};
struct Ack {
  uint32_t seq = 0;
  bool stream = false;  // answers a stream ping, on the stream transport
};
struct PingReq {
  uint32_t seq = 0;
  MemberId target{};
  std::string target_address;
};
struct Nack {
  uint32_t seq = 0;
};
// Full membership plus the first anti-entropy step, both ways: the join, and the periodic sync.
struct PushPull {
  bool join = false;
  std::vector<MemberUpdate> members;
  std::optional<crdt::SyncOffer> offer;  // request
  std::optional<crdt::SyncReply> reply;  // response
};
struct SyncPush {
  crdt::SyncPush push;
};
struct SyncFinish {
  crdt::SyncFinish finish;
};

// Relay set-up (the agent handles these; membership ignores them).
struct RelayBind {
  MemberId peer{};
};
struct RelayBound {
  MemberId peer{};
  uint64_t channel = 0;
  bool ready = false;  // both ends are bound
};

// The periodic sync, digest first (see Membership): counts and set hashes of the sender's
// members and records; `differs` in the answer when the receiver's do not match.
struct SyncCheck {
  uint32_t members = 0;
  uint64_t members_hash = 0;
  uint64_t records = 0;
  unsigned __int128 records_hash = 0;
  bool differs = false;
  bool operator==(const SyncCheck&) const = default;
};
using Body =
    std::variant<std::monostate, Ping, Ack, PingReq, Nack, PushPull, SyncPush, SyncFinish, RelayBind, RelayBound, SyncCheck>;

struct Message {
  MemberId from{};  // set by the sender; authenticated by the sealed envelope
  Body body;
  std::vector<MemberUpdate> updates;  // piggybacked membership
  std::vector<crdt::Record> records;  // piggybacked state deltas
};

// Whether a message goes over the stream transport (TCP): state transfers, which can be large,
// and the stream ping fallback with its ack.
inline bool is_stream(const Message& m) {
  if (const auto* p = std::get_if<Ping>(&m.body)) return p->stream;
  if (const auto* a = std::get_if<Ack>(&m.body)) return a->stream;
  return std::holds_alternative<PushPull>(m.body) || std::holds_alternative<SyncPush>(m.body) ||
         std::holds_alternative<SyncFinish>(m.body);
}

}  // namespace weft::gossip
