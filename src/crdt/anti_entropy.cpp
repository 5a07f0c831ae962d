#include "crdt/anti_entropy.hpp"

#include <algorithm>

namespace weft::crdt {

namespace {

void append(std::vector<Record>& out, std::vector<Record> more) {
  out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

std::vector<OwnerSummary> summaries_of(const Replica& r, const std::vector<OwnerId>& owners) {
  std::vector<OwnerSummary> out;
  for (const auto& owner : owners) out.push_back(r.state().summary(owner));
  return out;
}

}  // namespace

SyncOffer make_offer(const Replica& replica, uint64_t now_ms) {
  return SyncOffer{replica.id(), replica.fresh(now_ms), replica.state().digest()};
}

SyncReply answer_offer(Replica& responder, const SyncOffer& offer, uint64_t now_ms) {
  responder.adopt_if_stale(offer.fresh, now_ms);
  SyncReply reply;
  reply.fresh = responder.fresh(now_ms);
  Digest peer = offer.digest;
  if (reply.fresh && !offer.fresh) {
    // The initiator will drop everything it does not own on seeing a fresh reply: plan as if
    // it held only its own records.
    auto own = peer.find(offer.from);
    Digest only_own;
    if (own != peer.end()) only_own.insert(*own);
    peer = std::move(only_own);
  }
  auto plan = responder.state().delta_for(peer);
  reply.records = std::move(plan.records);
  reply.summaries = summaries_of(responder, plan.ambiguous);
  reply.digest = responder.state().digest();
  return reply;
}

SyncPush on_reply(Replica& initiator, const SyncReply& reply, uint64_t now_ms, std::vector<RecordRef>* accepted) {
  initiator.adopt_if_stale(reply.fresh, now_ms);
  SyncPush push;
  push.fresh = initiator.fresh(now_ms);
  push.records = initiator.receive(reply.records, now_ms, accepted);
  Digest peer = reply.digest;
  for (const auto& summary : reply.summaries) {
    append(push.records, initiator.state().delta_for(summary));
    auto wants = initiator.state().wanted_from(summary);
    push.wants.insert(push.wants.end(), wants.begin(), wants.end());
    peer.erase(summary.owner);  // settled exactly: keep the digest plan off it
  }
  auto plan = initiator.state().delta_for(peer);
  for (auto& r : plan.records)
    if (!std::any_of(reply.summaries.begin(), reply.summaries.end(),
                     [&](const OwnerSummary& s) { return s.owner == r.key.owner; }))
      push.records.push_back(std::move(r));
  push.summaries = summaries_of(initiator, plan.ambiguous);
  initiator.exchange_completed(reply.fresh, now_ms);
  return push;
}

SyncFinish on_push(Replica& responder, const SyncPush& push, uint64_t now_ms, std::vector<RecordRef>* accepted) {
  SyncFinish finish;
  finish.records = responder.receive(push.records, now_ms, accepted);
  for (const auto& summary : push.summaries) append(finish.records, responder.state().delta_for(summary));
  for (const auto& key : push.wants)
    if (const Record* r = responder.state().find(key)) finish.records.push_back(*r);
  responder.exchange_completed(push.fresh, now_ms);
  return finish;
}

void on_finish(Replica& initiator, const SyncFinish& finish, uint64_t now_ms, std::vector<RecordRef>* accepted) {
  initiator.receive(finish.records, now_ms, accepted);
}

void exchange(Replica& initiator, Replica& responder, uint64_t now_ms) {
  auto offer = make_offer(initiator, now_ms);
  auto reply = answer_offer(responder, offer, now_ms);
  auto push = on_reply(initiator, reply, now_ms);
  auto finish = on_push(responder, push, now_ms);
  on_finish(initiator, finish, now_ms);
}

}  // namespace weft::crdt
