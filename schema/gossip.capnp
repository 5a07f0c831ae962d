@0xf2ee661282c16539;
# Control-port messages of the gossip layer, carried inside sealed frames (src/gossip/seal.*):
# decoded only after the frame authenticated under the cluster key.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("weft::schema");
using Records = import "records.capnp";

enum MemberState {
  alive @0;
  suspect @1;
  dead @2;
  left @3;
}

struct MemberUpdate {
  id @0 :Data;
  incarnation @1 :UInt64;
  state @2 :MemberState;
  name @3 :Text;
  address @4 :Text;
  from @5 :Data;
}

struct OwnerDigest {
  owner @0 :Data;
  max @1 :UInt64;
  count @2 :UInt64;
  hashLo @3 :UInt64;
  hashHi @4 :UInt64;
}

struct SummaryEntry {
  kind @0 :Records.Kind;
  name @1 :Text;
  hlc @2 :UInt64;
}

struct OwnerSummary {
  owner @0 :Data;
  entries @1 :List(SummaryEntry);
}

struct RecordKey {
  owner @0 :Data;
  kind @1 :Records.Kind;
  name @2 :Text;
}

struct SyncOffer {
  from @0 :Data;
  fresh @1 :Bool;
  digest @2 :List(OwnerDigest);
}

struct SyncReply {
  fresh @0 :Bool;
  digest @1 :List(OwnerDigest);
  records @2 :List(Records.SignedRecord);
  summaries @3 :List(OwnerSummary);
}

struct SyncPush {
  fresh @0 :Bool;
  records @1 :List(Records.SignedRecord);
  summaries @2 :List(OwnerSummary);
  wants @3 :List(RecordKey);
}

struct SyncFinish {
  records @0 :List(Records.SignedRecord);
}

struct Ping {
  seq @0 :UInt32;
  target @1 :Data;
  # Sent over the stream transport (TCP) when datagram probes failed; answered by a streamAck.
  stream @2 :Bool;
}

struct PingReq {
  seq @0 :UInt32;
  target @1 :Data;
  targetAddress @2 :Text;
}

struct PushPull {
  join @0 :Bool;
  members @1 :List(MemberUpdate);
  sync :union {
    none @2 :Void;
    offer @3 :SyncOffer;
    reply @4 :SyncReply;
  }
}

# Relay: an end of a pair asks a relay to carry its WireGuard packets to
# `peer`; the relay answers with the pair's channel, ready once both ends asked.
struct RelayBind {
  peer @0 :Data;
}

struct RelayBound {
  peer @0 :Data;
  channel @1 :UInt64;
  ready @2 :Bool;
}

# The periodic sync, digest first: the sender's membership and record set as (count, set hash).
# The receiver answers with its own and `differs` set when they do not match; only then does the
# sender run a full push-pull (it opens it: behind NAT only it can reach the other).
struct SyncCheck {
  members @0 :UInt32;
  membersHash @1 :UInt64;
  records @2 :UInt64;
  recordsHashHigh @3 :UInt64;
  recordsHashLow @4 :UInt64;
  differs @5 :Bool;
}

# The sender is not repeated here: the sealed envelope names it, authenticated.
# Messages travel in Cap'n Proto's packed encoding.
struct Message {
  body :union {
    gossip @0 :Void;
    ping @1 :Ping;
    ack @2 :UInt32;
    pingReq @3 :PingReq;
    nack @4 :UInt32;
    pushPull @5 :PushPull;
    syncPush @6 :SyncPush;
    syncFinish @7 :SyncFinish;
    relayBind @10 :RelayBind;
    relayBound @11 :RelayBound;
    syncCheck @12 :SyncCheck;
    streamAck @13 :UInt32;  # the answer to a stream ping, on the stream transport
  }
  updates @8 :List(MemberUpdate);
  records @9 :List(Records.SignedRecord);
}
