#include "gossip/membership.hpp"

#include <algorithm>
#include <cmath>

namespace weft::gossip {

namespace {

// Encoded sizes in the packed wire form, for the piggyback budget: measured (an alive update of
// a 2-byte name and a 15-byte address packs to 71.5 bytes, a machine record to 220) and rounded
// up a little.
size_t update_size(const MemberUpdate& u) {
  return 56 + u.name.size() + u.address.size() +
         (u.state == MemberState::suspect || u.state == MemberState::dead ? 36 : 0);
}
size_t record_size(const crdt::Record& r) { return 100 + r.key.name.size() + r.value.size() * 3 / 4; }
size_t body_size(const Body& b) {
  if (std::holds_alternative<Ping>(b) || std::holds_alternative<PingReq>(b)) return 120;
  return 80;
}

// A suspicion or a death as gossip: who, which incarnation, who says so. No name or address:
// a receiver acts on one only for a member it already knows (at 10% loss, suspicions and their
// refutations are most of the control traffic, so every byte here counts).
MemberUpdate accusation(const MemberId& id, uint64_t incarnation, MemberState state, const MemberId& from) {
  return MemberUpdate{id, incarnation, state, {}, {}, from};
}

bool live(MemberState s) { return s == MemberState::alive || s == MemberState::suspect; }

// One member's (id, incarnation, state) as 64 bits; summed over the members (order-free).
uint64_t member_hash(const Member& m) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (uint8_t b : m.id) mix(b);
  for (int i = 0; i < 8; ++i) mix(static_cast<uint8_t>(m.incarnation >> (8 * i)));
  mix(static_cast<uint8_t>(m.state));
  h ^= h >> 31;  // splitmix64's finaliser spreads the bits before the sum
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

const char* state_name(MemberState state) {
  switch (state) {
    case MemberState::alive: return "alive";
    case MemberState::suspect: return "suspect";
    case MemberState::dead: return "dead";
    case MemberState::left: return "left";
  }
  return "unknown";
}

Membership::Membership(const MemberId& self, std::string name, std::string address, uint64_t incarnation,
                       GossipConfig config, uint64_t seed, crdt::Replica& replica, TextPool* texts)
    : self_(self),
      config_(config),
      rng_(seed),
      replica_(replica),
      own_texts_(texts ? nullptr : std::make_unique<TextPool>()),
      texts_(texts ? texts : own_texts_.get()) {
  const Member& me = members_.insert(Member{self, texts_->intern(name), texts_->intern(address), incarnation, 0,
                                             MemberState::alive});
  live_count_ = 1;
  members_hash_ = member_hash(me);
}

size_t Membership::alive_count() const { return live_count_; }

size_t Membership::recount_live() const {
  return std::count_if(members_.begin(), members_.end(), [](const Member& m) { return live(m.state); });
}

unsigned Membership::retransmit_limit() const {
  return config_.retransmit_mult * static_cast<unsigned>(std::ceil(std::log10(static_cast<double>(alive_count()) + 1)));
}

uint64_t Membership::push_pull_interval() const {
  size_t n = alive_count();
  if (n <= 32) return config_.push_pull_interval_ms;
  double mult = std::ceil(std::log2(static_cast<double>(n)) - std::log2(32.0)) + 1.0;
  return static_cast<uint64_t>(config_.push_pull_interval_ms * mult);
}

// ---------------------------------------------------------------- joining and leaving

void Membership::join(const std::vector<std::string>& seeds, uint64_t now, Effects& fx) {
  seeds_ = seeds;
  broadcast(update_of(self(), self_));
  for (const auto& seed : seeds_) send_push_pull(seed, true, now, fx);
  next_join_try_at_ = now + config_.join_retry_ms;
  if (seeds_.empty()) {
    joined_ = true;  // founding a cluster: nobody to join
    joined_at_ = now;
  }
  next_probe_at_ = now + config_.probe_interval_ms;
  next_gossip_at_ = now + config_.gossip_interval_ms;
  next_push_pull_at_ = now + push_pull_interval();
  next_reconnect_at_ = now + config_.reconnect_interval_ms;
}

void Membership::start_formed(const std::vector<MemberUpdate>& members, uint64_t now, Effects& fx) {
  join({}, now, fx);
  post_join_syncs_done_ = 2;
  for (const auto& u : members) {
    if (u.id == self_ || banned_.count(u.id)) continue;
    if (u.state == MemberState::dead) apply_suspect(u.id, u.incarnation, u.from, now, fx);  // checked here, as in a join
    else apply(u, now, fx, false);
  }
  next_probe_at_ = now + 1 + rng_.below(config_.probe_interval_ms);
  next_gossip_at_ = now + 1 + rng_.below(config_.gossip_interval_ms);
  next_push_pull_at_ = now + 1 + rng_.below(push_pull_interval());
  next_reconnect_at_ = now + 1 + rng_.below(config_.reconnect_interval_ms);
}

void Membership::leave(uint64_t now, Effects& fx) {
  leaving_ = true;
  Member& me = members_.at(self_);
  set_incarnation(me, me.incarnation + 1);
  set_state(me, MemberState::left, now, fx);
  MemberUpdate u = update_of(me, self_);
  for (const Member& m : members_) {
    if (m.id == self_ || !live(m.state)) continue;
    Message msg;
    msg.from = self_;
    msg.updates.push_back(u);
    fx.out.push_back(Outgoing{m.address, std::move(msg), m.id});
  }
}

bool Membership::forget(const MemberId& id) {
  const Member* m = members_.find(id);
  if (!m || id == self_ || live(m->state)) return false;
  remove_member(*m);
  suspicions_.erase(id);
  member_queue_.erase(id);
  return true;
}

void Membership::ban(const MemberId& id) {
  if (id == self_) return;
  banned_.insert(id);
  if (const Member* m = members_.find(id)) {
    if (live(m->state)) --live_count_;
    remove_member(*m);
  }
  suspicions_.erase(id);
  member_queue_.erase(id);
  if (probe_ && probe_->target == id) probe_.reset();
}

void Membership::publish(const std::vector<crdt::Record>& records) {
  for (const auto& r : records) {
    auto ref = replica_.state().find_ref(r.key);
    if (!ref || !(ref->record == r)) ref = std::make_shared<const crdt::StoredRecord>(crdt::StoredRecord{r, crdt::record_hash(r)});
    record_queue_.push(r.key, std::move(ref), record_size(r));
  }
}

void Membership::publish(const std::vector<crdt::RecordRef>& records) {
  for (const auto& r : records) record_queue_.push(r->record.key, r, record_size(r->record));
}

// ---------------------------------------------------------------- membership facts

MemberUpdate Membership::update_of(const Member& m, const MemberId& from) const {
  return MemberUpdate{m.id, m.incarnation, m.state, m.name, m.address, from};
}

Member& Membership::add_member(Member m) {
  Member& added = members_.insert(std::move(m));
  members_hash_ += member_hash(added);
  others_.push_back(&added);
  claim_address(added);
  return added;
}

void Membership::claim_address(const Member& m) {
  const Member* holder = members_.by_address(m.address.view());
  if (holder == &m || (holder && live(holder->state) && !live(m.state))) return;
  members_.claim_address(m);
}

void Membership::set_address(Member& m, const std::string& address) {
  if (m.address == address) return;
  members_.release_address(m);
  m.address = texts_->intern(address);
  claim_address(m);
}

void Membership::remove_member(const Member& member) {
  const Member* m = &member;
  std::erase(others_, m);
  if (m->state == MemberState::dead) std::erase(dead_, m);
  members_hash_ -= member_hash(*m);
  if (auto p = std::find(probe_order_.begin(), probe_order_.end(), m); p != probe_order_.end()) {
    if (static_cast<size_t>(p - probe_order_.begin()) < probe_index_) --probe_index_;
    probe_order_.erase(p);
  }
  members_.erase(member);
}

void Membership::broadcast(const MemberUpdate& u) { member_queue_.push(u.id, u, update_size(u)); }

void Membership::set_state(Member& m, MemberState state, uint64_t now, Effects& fx) {
  if (m.state == state) return;
  if (live(m.state) != live(state)) live(state) ? ++live_count_ : --live_count_;
  if (m.state == MemberState::dead) std::erase(dead_, &m);
  if (state == MemberState::dead) dead_.push_back(&m);
  members_hash_ -= member_hash(m);
  m.state = state;
  members_hash_ += member_hash(m);
  if (live(state)) claim_address(m);
  m.state_since_ms = now;
  fx.events.push_back(MemberEvent{m.id, state, false});
}

void Membership::set_incarnation(Member& m, uint64_t incarnation) {
  members_hash_ -= member_hash(m);
  m.incarnation = incarnation;
  members_hash_ += member_hash(m);
}

uint64_t Membership::recount_members_hash() const {
  uint64_t sum = 0;
  for (const Member& m : members_) sum += member_hash(m);
  return sum;
}

void Membership::refute(uint64_t incarnation, uint64_t now) {
  Member& me = members_.at(self_);
  set_incarnation(me, std::max(me.incarnation, incarnation) + 1);
  me.state_since_ms = now;
  ++counters_.refutes;
  adjust_health(+1);
  broadcast(update_of(me, self_));
}

void Membership::apply(const MemberUpdate& u, uint64_t now, Effects& fx, bool rebroadcast) {
  if (banned_.count(u.id)) return;
  switch (u.state) {
    case MemberState::alive: apply_alive(u, now, fx, rebroadcast); break;
    case MemberState::suspect: apply_suspect(u.id, u.incarnation, u.from, now, fx); break;
    case MemberState::dead: apply_dead(u.id, u.incarnation, u.from, now, fx); break;
    case MemberState::left: apply_left(u, now, fx, rebroadcast); break;
  }
}

void Membership::apply_alive(const MemberUpdate& u, uint64_t now, Effects& fx, bool rebroadcast) {
  if (u.id == self_) {
    const Member& me = self();
    // Someone holds a newer or different picture of us (we restarted, or an impostor address):
    // restate ourselves above it.
    if (!leaving_ && (u.incarnation > me.incarnation ||
                      (u.incarnation == me.incarnation && (u.address != me.address || u.name != me.name))))
      refute(u.incarnation, now);
    return;
  }
  Member* found = members_.find(u.id);
  if (!found) {
    const Member& added =
        add_member(Member{u.id, texts_->intern(u.name), texts_->intern(u.address), u.incarnation, now, MemberState::alive});
    ++live_count_;
    // A random place in the probe order, in O(1): swap with a random member (memberlist's way).
    probe_order_.push_back(&added);
    std::swap(probe_order_.back(), probe_order_[rng_.below(probe_order_.size())]);
    fx.events.push_back(MemberEvent{u.id, MemberState::alive, true});
    if (rebroadcast) broadcast(u);
    return;
  }
  Member& m = *found;
  if (u.incarnation <= m.incarnation) {
    ++counters_.stale_updates;
    return;
  }
  set_incarnation(m, u.incarnation);
  if (m.name != u.name) m.name = texts_->intern(u.name);
  set_address(m, u.address);
  suspicions_.erase(u.id);
  set_state(m, MemberState::alive, now, fx);
  if (rebroadcast) broadcast(u);
}

Member* Membership::accusation_target(const MemberId& id, uint64_t incarnation, uint64_t now) {
  if (id == self_) {
    if (leaving_) return nullptr;
    if (incarnation >= self().incarnation) refute(incarnation, now);
    // An old accusation still travels: someone missed our refutation. Gossip it again (it
    // rides first on our next messages, the ack to that member's probe among them).
    else if (!member_queue_.contains(self_)) broadcast(update_of(self(), self_));
    return nullptr;
  }
  Member* m = members_.find(id);
  if (!m) return nullptr;
  if (incarnation < m->incarnation || !live(m->state)) {
    ++counters_.stale_updates;
    return nullptr;
  }
  return m;
}

void Membership::apply_suspect(const MemberId& id, uint64_t incarnation, const MemberId& from, uint64_t now,
                               Effects& fx) {
  Member* target = accusation_target(id, incarnation, now);
  if (!target) return;
  Member& m = *target;
  if (m.state == MemberState::suspect) {
    auto s = suspicions_.find(id);
    if (s != suspicions_.end() && incarnation == m.incarnation && s->second.confirm(from))
      broadcast(accusation(id, incarnation, MemberState::suspect, from));
    return;
  }
  set_incarnation(m, incarnation);
  set_state(m, MemberState::suspect, now, fx);
  ++counters_.suspects_raised;
  size_t n = alive_count();
  uint64_t min = static_cast<uint64_t>(config_.suspicion_mult *
                                       std::max(1.0, std::log10(static_cast<double>(std::max<size_t>(n, 1)))) *
                                       config_.probe_interval_ms);
  unsigned k = config_.suspicion_mult >= 2 ? config_.suspicion_mult - 2 : 0;
  if (n < 2 || n - 2 < k) k = 0;
  suspicions_.insert_or_assign(id, Suspicion(now, min, min * config_.suspicion_max_timeout_mult, k, from));
  broadcast(accusation(id, incarnation, MemberState::suspect, from));
}

void Membership::apply_dead(const MemberId& id, uint64_t incarnation, const MemberId& from, uint64_t now,
                            Effects& fx) {
  Member* target = accusation_target(id, incarnation, now);
  if (!target) return;
  Member& m = *target;
  set_incarnation(m, incarnation);
  suspicions_.erase(id);
  set_state(m, MemberState::dead, now, fx);
  broadcast(accusation(id, incarnation, MemberState::dead, from));
}

void Membership::apply_left(const MemberUpdate& u, uint64_t now, Effects& fx, bool rebroadcast) {
  const MemberId& id = u.id;
  uint64_t incarnation = u.incarnation;
  if (id == self_) return;
  Member* found = members_.find(id);
  if (!found) {
    // A member that left before we joined: listed as left, like everyone else lists it. (An
    // unknown *dead* member is not taken on hearsay: it may be alive and about to refute.)
    add_member(Member{id, texts_->intern(u.name), texts_->intern(u.address), incarnation, now, MemberState::left});
    fx.events.push_back(MemberEvent{id, MemberState::left, true});
    return;
  }
  Member& m = *found;
  if (incarnation < m.incarnation || m.state == MemberState::left) {
    ++counters_.stale_updates;
    return;
  }
  set_incarnation(m, incarnation);
  suspicions_.erase(id);
  set_state(m, MemberState::left, now, fx);
  if (rebroadcast) broadcast(MemberUpdate{id, incarnation, MemberState::left, m.name, m.address, id});
}

// ---------------------------------------------------------------- probing

std::optional<MemberId> Membership::next_probe_target() {
  for (size_t tries = 0; tries <= probe_order_.size(); ++tries) {
    if (probe_index_ >= probe_order_.size()) {
      // Drop members that are gone, reshuffle: a randomised round-robin.
      std::erase_if(probe_order_, [&](const Member* m) { return !live(m->state); });
      rng_.shuffle(probe_order_);
      probe_index_ = 0;
      if (probe_order_.empty()) return std::nullopt;
    }
    const Member* m = probe_order_[probe_index_++];
    if (live(m->state)) return m->id;
  }
  return std::nullopt;
}

void Membership::start_probe(uint64_t now, Effects& fx) {
  auto target = next_probe_target();
  if (!target) return;
  const Member& m = members_.at(*target);
  Probe p;
  p.target = *target;
  p.seq = next_seq_++;
  p.started = now;
  p.indirect_at = now + scaled(config_.probe_timeout_ms);
  p.deadline = now + scaled(config_.probe_interval_ms);
  probe_ = p;
  ++counters_.probes;
  // Buddy system: a suspect hears of its suspicion directly, first thing in the ping.
  if (m.state == MemberState::suspect) broadcast(accusation(m.id, m.incarnation, MemberState::suspect, self_));
  send(m.address, Ping{p.seq, p.target, false}, now, fx, true, m.id);
}

Suspicion* Membership::suspicion_checked_by(uint32_t seq) {
  for (auto& [id, s] : suspicions_)
    if (s.check_seq() == seq) return &s;
  return nullptr;
}

void Membership::start_check(const MemberId& id, Suspicion& suspicion, uint64_t now, Effects& fx) {
  const Member& m = members_.at(id);
  uint32_t seq = next_seq_++;
  suspicion.start_check(seq, now + scaled(config_.probe_timeout_ms));
  ++counters_.last_checks;
  // Buddy system: the ping tells the member of its suspicion, so it refutes on the ack.
  broadcast(accusation(m.id, m.incarnation, MemberState::suspect, self_));
  send(m.address, Ping{seq, id, false}, now, fx, true, id);
  for (const Member* h : random_members(config_.indirect_checks, &id, false, now))
    send(h->address, PingReq{seq, id, m.address}, now, fx, true, h->id);
  send_stream_ping(m, seq, now, fx);
}

void Membership::send_stream_ping(const Member& m, uint32_t seq, uint64_t now, Effects& fx) {
  if (!config_.stream_pings) return;
  ++counters_.stream_pings;
  send(m.address, Ping{seq, m.id, true}, now, fx, false, m.id);
}

void Membership::finish_probe(uint64_t now, Effects& fx) {
  Probe p = *probe_;
  probe_.reset();
  if (p.acked) return;
  ++counters_.probe_failures;
  // Lifeguard: a missed ack counts against us; so does every nack we expected but did not get
  // (if even the helpers cannot hear from us, the problem is likely local).
  int missed_nacks = p.indirect_sent ? static_cast<int>(p.nacks_expected) - static_cast<int>(p.nacks) : 0;
  adjust_health(1 + std::max(0, missed_nacks));
  const Member* target = members_.find(p.target);
  if (target && target->state == MemberState::alive) apply_suspect(p.target, target->incarnation, self_, now, fx);
}

std::vector<const Member*> Membership::random_members(size_t count, const MemberId* exclude,
                                                      bool include_recent_dead, uint64_t now) {
  auto eligible = [&](const Member& m) {
    if (exclude && m.id == *exclude) return false;
    if (live(m.state)) return true;
    return include_recent_dead && m.state == MemberState::dead && now - m.state_since_ms < config_.gossip_to_dead_ms;
  };
  std::vector<const Member*> picked;
  // Random draws first: O(count) when most members qualify (the common case at any size).
  for (size_t tries = 0; picked.size() < count && tries < 4 * count + 8 && !others_.empty(); ++tries) {
    const Member* m = others_[rng_.below(others_.size())];
    if (eligible(*m) && std::find(picked.begin(), picked.end(), m) == picked.end()) picked.push_back(m);
  }
  if (picked.size() == count) return picked;
  // Few qualify (a partition, a small cluster): pick among all that do.
  std::vector<const Member*> pool;
  for (const Member* m : others_)
    if (eligible(*m)) pool.push_back(m);
  for (size_t i = 0; i < std::min(count, pool.size()); ++i)
    std::swap(pool[i], pool[i + rng_.below(pool.size() - i)]);
  if (pool.size() > count) pool.resize(count);
  return pool;
}

void Membership::adjust_health(int delta) {
  int v = static_cast<int>(awareness_) + delta;
  awareness_ = static_cast<unsigned>(std::clamp(v, 0, static_cast<int>(config_.awareness_max) - 1));
}

// ---------------------------------------------------------------- time

uint64_t Membership::next_wakeup() const {
  uint64_t t = std::min({next_probe_at_, next_push_pull_at_, next_reconnect_at_});
  // Gossip rounds only matter while something waits to be gossiped: a quiet member sleeps
  // through them (the next queued item starts a round at once).
  if (!member_queue_.empty() || !record_queue_.empty()) t = std::min(t, next_gossip_at_);
  if (!joined_) t = std::min(t, next_join_try_at_);
  if (probe_) t = std::min(t, probe_->indirect_sent || probe_->acked ? probe_->deadline : probe_->indirect_at);
  for (const auto& [seq, r] : relays_) t = std::min(t, r.deadline);
  for (const auto& [id, s] : suspicions_) t = std::min(t, s.wakeup());
  if (joined_ && post_join_syncs_done_ < 2) t = std::min(t, joined_at_ + config_.post_join_sync_ms[post_join_syncs_done_]);
  return t;
}

void Membership::tick(uint64_t now, Effects& fx) {
  if (leaving_) return;
  if (!joined_ && now >= next_join_try_at_) {
    for (const auto& seed : seeds_) send_push_pull(seed, true, now, fx);
    next_join_try_at_ = now + config_.join_retry_ms;
  }
  if (probe_ && !probe_->acked && !probe_->indirect_sent && now >= probe_->indirect_at) {
    probe_->indirect_sent = true;
    auto helpers = random_members(config_.indirect_checks, &probe_->target, false, now);
    const Member& target = members_.at(probe_->target);
    for (const Member* h : helpers) {
      ++counters_.indirect_probes;
      send(h->address, PingReq{probe_->seq, target.id, target.address}, now, fx, true, h->id);
    }
    probe_->nacks_expected = static_cast<unsigned>(helpers.size());
    send_stream_ping(target, probe_->seq, now, fx);
  }
  if (probe_ && now >= probe_->deadline) finish_probe(now, fx);
  if (!probe_ && now >= next_probe_at_) {
    start_probe(now, fx);
    next_probe_at_ = now + scaled(config_.probe_interval_ms);
  }
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (now >= it->second.deadline) {
      send(it->second.requester, Nack{it->second.seq}, now, fx, true, it->second.requester_id);
      it = relays_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = suspicions_.begin(); it != suspicions_.end();) {
    MemberId id = it->first;
    Suspicion& suspicion = it->second;
    ++it;  // apply_dead erases the entry
    if (now < suspicion.wakeup()) continue;
    if (!suspicion.check_seq()) {
      start_check(id, suspicion, now, fx);
    } else {
      ++counters_.deaths_declared;
      apply_dead(id, members_.at(id).incarnation, self_, now, fx);
    }
  }
  if (now >= next_gossip_at_ && (!member_queue_.empty() || !record_queue_.empty())) {
    next_gossip_at_ = now + config_.gossip_interval_ms;
    for (const Member* m : random_members(config_.gossip_nodes, nullptr, true, now))
      send(m->address, std::monostate{}, now, fx, true, m->id);
  }
  if (joined_ && post_join_syncs_done_ < 2 && now >= joined_at_ + config_.post_join_sync_ms[post_join_syncs_done_]) {
    // The first goes back to whoever answered the join: it is reachable (behind NAT it may be
    // the only member that is), and records it took in while we joined reach us now rather
    // than at the next periodic sync. The second goes to a random member.
    const Member* answered = post_join_syncs_done_ == 0 ? members_.find(join_answerer_) : nullptr;
    ++post_join_syncs_done_;
    if (answered && live(answered->state))
      send_push_pull(answered->address, false, now, fx, answered->id);
    else
      for (const Member* m : random_members(1, nullptr, false, now)) send_push_pull(m->address, false, now, fx, m->id);
  }
  if (now >= next_push_pull_at_) {
    // Digest first: a full push-pull copies every member and the per-owner digest both ways,
    // which at a thousand members is most of the steady-state cost, and usually finds nothing.
    next_push_pull_at_ = now + push_pull_interval();
    for (const Member* m : random_members(1, nullptr, false, now)) {
      ++counters_.sync_checks;
      send(m->address, sync_check(), now, fx, true, m->id);
    }
  }
  if (now >= next_reconnect_at_) {
    next_reconnect_at_ = now + config_.reconnect_interval_ms;
    if (!dead_.empty()) {
      const Member* d = dead_[rng_.below(dead_.size())];
      send_push_pull(d->address, false, now, fx, d->id);
    }
  }
}

// ---------------------------------------------------------------- messages

std::string Membership::address_of(const MemberId& id, const std::string& fallback) const {
  const Member* m = members_.find(id);
  return m ? std::string(m->address) : fallback;
}

void Membership::send(const std::string& to, Body body, uint64_t now, Effects& fx, bool piggyback,
                      std::optional<MemberId> to_id) {
  (void)now;
  Message msg;
  msg.from = self_;
  msg.body = std::move(body);
  if (piggyback) {
    size_t budget = config_.packet_budget > body_size(msg.body) ? config_.packet_budget - body_size(msg.body) : 0;
    unsigned limit = std::max(1u, retransmit_limit());
    // State deltas have no refutation to repair a miss, only the next push-pull (tens of seconds
    // away): they are retransmitted more (config_.record_retransmit_factor x), so the infection
    // tail closes by gossip alone.
    unsigned record_limit = limit * config_.record_retransmit_factor;
    // Records get their reserved share first; membership takes the rest (and what records left).
    size_t record_budget = record_queue_.empty() ? 0 : static_cast<size_t>(budget * config_.record_share);
    size_t used = record_queue_.take(record_budget, record_limit, msg.records, false, &crdt::StoredRecord::record);
    counters_.records_gossiped += msg.records.size();
    used += member_queue_.take(budget - used, limit, msg.updates);
    if (budget > used) {
      size_t before = msg.records.size();
      record_queue_.take(budget - used, record_limit, msg.records, /*more_for_same_message=*/true,
                         &crdt::StoredRecord::record);
      counters_.records_gossiped += msg.records.size() - before;
    }
  }
  std::optional<MemberId> member = to_id;
  if (member && !members_.contains(*member)) member.reset();
  if (!member)
    if (const Member* m = members_.by_address(to)) member = m->id;
  if (member == self_) member.reset();
  fx.out.push_back(Outgoing{to, std::move(msg), member});
}

void Membership::send_push_pull(const std::string& to, bool join, uint64_t now, Effects& fx,
                                std::optional<MemberId> to_id) {
  PushPull pp;
  pp.join = join;
  for (const Member& m : members_) pp.members.push_back(update_of(m, self_));
  pp.offer = crdt::make_offer(replica_, now);
  ++counters_.push_pulls;
  send(to, std::move(pp), now, fx, false, to_id);
}

SyncCheck Membership::sync_check() const {
  SyncCheck c;
  c.members = static_cast<uint32_t>(members_.size());
  c.members_hash = members_hash_;
  c.records = replica_.state().size();
  c.records_hash = replica_.state().total_hash().value;
  return c;
}

// A check from a member: equal, nothing to do; otherwise we answer with ours, marked `differs`.
// An answer marked `differs`: if we still differ, the full push-pull follows, opened by us.
void Membership::on_sync_check(const MemberId& from, const std::string& from_address, const SyncCheck& check, uint64_t now,
                               Effects& fx) {
  SyncCheck mine = sync_check();
  bool same = mine.members == check.members && mine.members_hash == check.members_hash && mine.records == check.records &&
              mine.records_hash == check.records_hash;
  std::string to = address_of(from, from_address);
  if (check.differs) {
    if (!same) send_push_pull(to, false, now, fx, from);
    return;
  }
  if (same) {
    ++counters_.syncs_skipped;
    return;
  }
  mine.differs = true;
  send(to, mine, now, fx, true, from);
}

void Membership::receive_records(const std::vector<crdt::Record>& records, uint64_t now) {
  if (records.empty()) return;
  std::vector<crdt::RecordRef> accepted;
  auto corrections = replica_.receive(records, now, &accepted);
  publish(accepted);  // infection-style: what is new to us, we pass on
  publish(corrections);
}

void Membership::on_message(const std::string& from_address, const Message& msg, uint64_t now, Effects& fx) {
  if (leaving_ || msg.from == self_ || banned_.count(msg.from)) return;
  for (const auto& u : msg.updates) apply(u, now, fx);
  receive_records(msg.records, now);

  if (const auto* ping = std::get_if<Ping>(&msg.body)) {
    if (ping->target != self_) {
      ++counters_.pings_for_other;
      return;
    }
    // A stream ping is answered on the stream, without piggyback (it is small and reliable).
    send(from_address, Ack{ping->seq, ping->stream}, now, fx, !ping->stream, msg.from);
  } else if (const auto* ack = std::get_if<Ack>(&msg.body)) {
    if (probe_ && ack->seq == probe_->seq) {
      if (!probe_->acked) {
        probe_->acked = true;
        if (ack->stream) {
          // Reachable, but our datagrams or its answers got lost: no suspicion, and no credit
          // to our health either (the round trip says nothing about datagram delivery).
          ++counters_.stream_rescues;
        } else {
          counters_.rtt_sum_ms += now - probe_->started;
          ++counters_.rtt_count;
          adjust_health(-1);
        }
      }
    } else if (Suspicion* checked = suspicion_checked_by(ack->seq)) {
      ++counters_.last_checks_answered;
      checked->restart(now, self_);
    } else if (auto r = relays_.find(ack->seq); r != relays_.end()) {
      send(r->second.requester, Ack{r->second.seq, false}, now, fx, true, r->second.requester_id);
      relays_.erase(r);
    } else {
      ++counters_.unknown_acks;
    }
  } else if (const auto* req = std::get_if<PingReq>(&msg.body)) {
    uint32_t seq = next_seq_++;
    relays_[seq] = Relay{address_of(msg.from, from_address), msg.from, req->seq, now + config_.probe_timeout_ms};
    send(req->target_address, Ping{seq, req->target, false}, now, fx, true, req->target);
  } else if (const auto* nack = std::get_if<Nack>(&msg.body)) {
    if (probe_ && nack->seq == probe_->seq) ++probe_->nacks;
  } else if (const auto* pp = std::get_if<PushPull>(&msg.body)) {
    // The answer to our own join is what the cluster already knows, unless members joined
    // through us while our own join waited (a seed cut off from the other seeds): we answered
    // them with our partial view, and what this answer brings is news to them, to be gossiped
    // on like any other sync's.
    bool join_reply = pp->reply && !joined_ && !answered_before_joined_;
    for (const auto& u : pp->members) {
      if (banned_.count(u.id)) continue;
      // memberlist's rule: a remote "dead" is only a suspicion here; we check for ourselves.
      if (u.state == MemberState::dead) apply_suspect(u.id, u.incarnation, msg.from, now, fx);
      // The member list answering a fresh joiner's join is what the cluster already knows:
      // gossiping it on would make every join cost O(N) broadcasts (O(N^2) in a join storm).
      // Any other sync may bring news (a healed partition, a joiner the seed met) and is passed on.
      else apply(u, now, fx, !join_reply || u.id == msg.from);
    }
    if (pp->offer) {
      if (!joined_) answered_before_joined_ = true;
      PushPull answer;
      for (const Member& m : members_) answer.members.push_back(update_of(m, self_));
      answer.reply = crdt::answer_offer(replica_, *pp->offer, now);
      send(address_of(msg.from, from_address), std::move(answer), now, fx, false, msg.from);
    } else if (pp->reply) {
      if (!joined_) {
        joined_ = true;
        joined_at_ = now;
        join_answerer_ = msg.from;
      }
      // Records new to us from a sync are likely new to others (a healed partition): gossip
      // them on, except the whole state answering a fresh joiner's join.
      std::vector<crdt::RecordRef> accepted;
      auto push = crdt::on_reply(replica_, *pp->reply, now, join_reply ? nullptr : &accepted);
      publish(accepted);
      send(address_of(msg.from, from_address), SyncPush{std::move(push)}, now, fx, false, msg.from);
    }
  } else if (const auto* sp = std::get_if<SyncPush>(&msg.body)) {
    std::vector<crdt::RecordRef> accepted;
    auto finish = crdt::on_push(replica_, sp->push, now, &accepted);
    publish(accepted);
    if (!finish.records.empty()) send(address_of(msg.from, from_address), SyncFinish{std::move(finish)}, now, fx, false, msg.from);
  } else if (const auto* sc = std::get_if<SyncCheck>(&msg.body)) {
    on_sync_check(msg.from, from_address, *sc, now, fx);
  } else if (const auto* sf = std::get_if<SyncFinish>(&msg.body)) {
    std::vector<crdt::RecordRef> accepted;
    crdt::on_finish(replica_, sf->finish, now, &accepted);
    publish(accepted);
  }
}

}  // namespace weft::gossip
