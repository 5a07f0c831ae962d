// Push-pull anti-entropy between two replicas, as pure message steps. The gossip layer carries
// the messages; tests and the simulator call the steps directly.
//
//   initiator                         responder
//   offer()          --SyncOffer-->   answer()      records the initiator lacks (fast path),
//                                                   summaries where digests are ambiguous
//   on_reply()       <--SyncReply--   
//                    --SyncPush--->   on_push()     exact records for the ambiguous owners
//   on_finish()      <--SyncFinish--
//
// A joining machine (nothing but its own records) has full state after SyncReply: one
// exchange. When nothing is ambiguous, SyncPush and SyncFinish carry only records (or nothing).
#pragma once

#include <vector>

#include "crdt/digest.hpp"
#include "crdt/replica.hpp"

namespace weft::crdt {

struct SyncOffer {
  OwnerId from{};
  bool fresh = false;
  Digest digest;
};

struct SyncReply {
  bool fresh = false;
  Digest digest;
  std::vector<Record> records;
  std::vector<OwnerSummary> summaries;  // responder's, for owners it could not settle by digest
};

struct SyncPush {
  bool fresh = false;
  std::vector<Record> records;
  std::vector<OwnerSummary> summaries;  // initiator's, for owners it could not settle
  std::vector<RecordKey> wants;         // keys the responder holds newer
};

struct SyncFinish {
  std::vector<Record> records;
};

SyncOffer make_offer(const Replica& replica, uint64_t now_ms);
SyncReply answer_offer(Replica& responder, const SyncOffer& offer, uint64_t now_ms);
// `accepted`, when given, receives the records that were new here (to gossip on: after a
// partition heals, what one side wrote is news to most of the other side too).
SyncPush on_reply(Replica& initiator, const SyncReply& reply, uint64_t now_ms, std::vector<RecordRef>* accepted = nullptr);
SyncFinish on_push(Replica& responder, const SyncPush& push, uint64_t now_ms, std::vector<RecordRef>* accepted = nullptr);
void on_finish(Replica& initiator, const SyncFinish& finish, uint64_t now_ms, std::vector<RecordRef>* accepted = nullptr);

// All four steps between two in-process replicas (tests, simulator, benchmarks).
void exchange(Replica& initiator, Replica& responder, uint64_t now_ms);

}  // namespace weft::crdt
