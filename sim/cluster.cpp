#include "sim/cluster.hpp"

#include <cstring>
#include <span>
#include <stdexcept>

#include "crdt/values.hpp"

#include "gossip/codec.hpp"
#include "gossip/seal.hpp"

namespace weft::sim {

using gossip::MemberState;

SimCluster::SimCluster(uint64_t seed, gossip::GossipConfig gossip, NetworkConfig net, crdt::ReplicaOptions replica)
    : gossip_(gossip), net_(net), replica_options_(replica), rng_(seed) {
  replica_options_.verify_memo = verify_memo_.get();
}

size_t SimCluster::add_node(const std::vector<size_t>& seeds) {
  size_t i = create_node();
  start_node(i, seeds);
  return i;
}

size_t SimCluster::create_node() {
  size_t i = nodes_.size();
  crdt::SigningSeed key_seed;
  for (size_t b = 0; b < key_seed.size(); b += 8) {
    uint64_t v = rng_.next();
    std::memcpy(key_seed.data() + b, &v, 8);
  }
  Node node;
  node.key = std::make_unique<crdt::SigningKey>(crdt::SigningKey::from_seed(key_seed));
  node.replica = std::make_unique<crdt::Replica>(*node.key, replica_options_);
  node.address = "10." + std::to_string(i / 62500) + "." + std::to_string(i / 250 % 250) + "." +
                 std::to_string(i % 250 + 1) + ":51821";
  by_address_[node.address] = i;
  by_id_[node.replica->id()] = i;
  first_seen_.push_back(UINT64_MAX);
  queued_.emplace_back(0, 0);
  ever_joined_.push_back(false);
  nodes_.push_back(std::move(node));
  return i;
}

void SimCluster::add_formed(size_t n) {
  if (!nodes_.empty()) throw std::logic_error("add_formed: the cluster must be empty");
  nodes_.reserve(n);
  for (size_t i = 0; i < n; ++i) create_node();
  // Each node's own records as it would hold them after settling: its subnet claim (the i-th
  // /24, so none collide). Every replica then loads them all, as from a completed sync.
  std::vector<crdt::Record> records;
  if (network_) {
    const Ipv4Net& net = *network_;
    if (n > (size_t{1} << (24 - net.prefix)))
      throw std::invalid_argument("add_formed: the network holds fewer /24s than nodes");
    for (size_t i = 0; i < n; ++i) {
      Ipv4Net subnet{Ipv4{net.base.value + static_cast<uint32_t>(i << 8)}, 24};
      records.push_back(nodes_[i].replica->put(crdt::Kind::subnet_claim, crdt::subnet_claim_name(subnet),
                                               crdt::encode_value(crdt::SubnetClaimValue{subnet}), now_));
    }
  }
  std::vector<gossip::MemberUpdate> roster;
  for (size_t i = 0; i < n; ++i)
    roster.push_back(gossip::MemberUpdate{nodes_[i].replica->id(), 0, MemberState::alive, "node" + std::to_string(i),
                                          nodes_[i].address, {}});
  for (size_t i = 0; i < n; ++i) {
    Node& node = nodes_[i];
    if (!records.empty()) {  // all but its own, which it wrote
      std::span<const crdt::Record> all(records);
      size_t refused = node.replica->restore(all.first(i), local(i)) + node.replica->restore(all.subspan(i + 1), local(i));
      if (refused) throw std::logic_error("add_formed: " + std::to_string(refused) + " records refused");
    }
    node.replica->set_last_exchange_ms(local(i));
    node.replica->take_changes();
    node.replica->take_written();  // every replica already holds them, as after a sync
    if (network_) {
      node.settler.emplace(*network_);
      node.settler->set_broken_gate_for_tests(broken_settle_gate_);
      node.settler->mark_settled(*node.replica);  // the claims are as settling left them
    }
    node.membership = std::make_unique<gossip::Membership>(node.replica->id(), "node" + std::to_string(i), node.address,
                                                           0, gossip_, rng_.next(), *node.replica, texts_.get());
    gossip::Effects fx;
    node.membership->start_formed(roster, local(i), fx);
    fx.events.clear();  // N^2 "joined" events: the cluster was formed before the run began
    flush(i, fx);
    schedule_wakeup(i);
  }
}

void SimCluster::start_node(size_t i, const std::vector<size_t>& seeds) {
  Node& n = nodes_[i];
  uint64_t incarnation = n.membership ? n.membership->self().incarnation + 1 : 0;
  n.membership = std::make_unique<gossip::Membership>(n.replica->id(), "node" + std::to_string(i), n.address,
                                                      incarnation, gossip_, rng_.next(), *n.replica, texts_.get());
  n.up = true;
  ++n.epoch;
  n.wakeup_at = UINT64_MAX;
  std::vector<std::string> seed_addresses;
  for (size_t s : seeds) seed_addresses.push_back(nodes_.at(s).address);
  gossip::Effects fx;
  n.membership->join(seed_addresses, local(i), fx);
  flush(i, fx);
  after(i);  // as the agent, which settles (among others) right after it starts
  schedule_wakeup(i);
}

// A node's own writes go out by gossip from its replica's outbox, as on a machine.
void SimCluster::publish_written(size_t i) { nodes_[i].membership->publish(nodes_[i].replica->take_written()); }

void SimCluster::crash(size_t i) {
  nodes_.at(i).up = false;
  ++nodes_[i].epoch;
}

void SimCluster::restart(size_t i, const std::vector<size_t>& seeds) { start_node(i, seeds); }

void SimCluster::leave(size_t i) {
  gossip::Effects fx;
  nodes_.at(i).membership->leave(local(i), fx);
  flush(i, fx);
}

void SimCluster::partition(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  for (size_t x : a)
    for (size_t y : b) {
      cuts_.insert({x, y});
      cuts_.insert({y, x});
    }
}

void SimCluster::write(size_t i, crdt::Kind kind, const std::string& name, std::string value) {
  nodes_.at(i).replica->put(kind, name, std::move(value), local(i));
  publish_written(i);
}

size_t SimCluster::index_of(const crdt::OwnerId& id) const { return by_id_.at(id); }

void SimCluster::watch(const crdt::RecordKey& key) {
  watched_ = key;
  for (size_t i = 0; i < nodes_.size(); ++i)
    first_seen_[i] = nodes_[i].replica->state().find(key) ? now_ : UINT64_MAX;
}

void SimCluster::claim_subnets(const Ipv4Net& network, bool broken_gate) {
  network_ = network;
  broken_settle_gate_ = broken_gate;
}

// Per-node bookkeeping after it handled an event: observations and subnet settling.
void SimCluster::after(size_t i) {
  Node& n = nodes_[i];
  if (watched_ && first_seen_[i] == UINT64_MAX && n.replica->state().find(*watched_)) first_seen_[i] = now_;
  if (n.membership->joined()) ever_joined_[i] = true;
  if (network_) {
    if (!n.settler) {
      n.settler.emplace(*network_);
      n.settler->set_broken_gate_for_tests(broken_settle_gate_);
    }
    // As on a machine: no founder here (every node joins), and a restarted node has synced before.
    bool synced = crdt::synced_with_cluster(false, ever_joined_[i], n.membership->joined());
    if (auto outcome = n.settler->tick(*n.replica, synced, local(i)))
      for (const auto& r : outcome->written)
        if (r.key.kind == crdt::Kind::subnet_claim && !r.tombstone && !synced) ++claims_before_sync_;
  }
  publish_written(i);
  n.replica->take_changes();  // nothing to persist in the simulator
  auto& [updates, records] = queued_[i];
  size_t updates_now = n.membership->pending_updates(), records_now = n.membership->pending_records();
  queued_updates_ = queued_updates_ - updates + updates_now;
  queued_records_ = queued_records_ - records + records_now;
  updates = updates_now;
  records = records_now;
  peak_queued_updates_ = std::max(peak_queued_updates_, queued_updates_);
  peak_queued_records_ = std::max(peak_queued_records_, queued_records_);
}

void SimCluster::flush(size_t from, gossip::Effects& fx) {
  for (const auto& e : fx.events) {
    auto it = by_id_.find(e.id);
    if (it != by_id_.end()) state_events_.push_back(StateEvent{now_, from, it->second, e.state});
  }
  fx.events.clear();
  for (auto& out : fx.out) {
    ++messages_sent_;
    if (count_bytes_) bytes_sent_ += gossip::encoded_size(out.message) + gossip::kSealOverhead;
    auto it = by_address_.find(out.to);
    if (it == by_address_.end()) continue;
    bool stream = gossip::is_stream(out.message);
    if (!stream && net_.loss > 0 && rng_.unit() < net_.loss) {
      ++messages_lost_;
      continue;
    }
    size_t to = it->second;
    uint64_t delay = draw_delay(from, to, !stream);
    if (stream) delay += stream_delay(from, to);
    if (!stream && net_.duplicate > 0 && rng_.unit() < net_.duplicate) {
      uint64_t order = order_++;
      payloads_.emplace(order, out.message);
      events_.push(Event{now_ + draw_delay(from, to, true), order, to, nodes_[to].epoch, from, true});
      ++messages_duplicated_;
    }
    uint64_t order = order_++;
    payloads_.emplace(order, std::move(out.message));
    events_.push(Event{now_ + delay, order, to, nodes_[to].epoch, from, true});
  }
  fx.out.clear();
}

std::pair<uint64_t, uint64_t> SimCluster::link_delay(size_t from, size_t to) const {
  if (!link_delays_.empty())
    if (auto it = link_delays_.find({from, to}); it != link_delays_.end()) return it->second;
  return {net_.latency_ms, net_.jitter_ms};
}

uint64_t SimCluster::draw_delay(size_t from, size_t to, bool datagram) {
  auto [latency, jitter] = link_delay(from, to);
  uint64_t delay = latency + (jitter ? rng_.below(jitter + 1) : 0);
  if (datagram && net_.reorder > 0 && rng_.unit() < net_.reorder) delay += 10 + rng_.below(91);
  return delay;
}

// TCP under datagram loss: nothing is lost, but late. A connection idle for 30 s is gone (the
// agent sweeps them): opening one costs a round trip, and a lost SYN or SYN-ACK costs Linux's
// initial retransmission timeout, 1 s, doubling. On an open connection a lost segment waits
// for the minimum RTO, 200 ms, doubling.
uint64_t SimCluster::stream_delay(size_t from, size_t to) {
  constexpr uint64_t kIdleMs = 30'000;
  auto pair = from < to ? std::make_pair(from, to) : std::make_pair(to, from);
  auto [it, fresh] = connections_.try_emplace(pair, now_);
  bool open = !fresh && now_ - it->second <= kIdleMs;
  it->second = now_;
  uint64_t delay = 0;
  auto retransmits = [&](uint64_t rto, int segments) {
    for (int s = 0; s < segments; ++s)
      for (uint64_t t = rto; net_.loss > 0 && rng_.unit() < net_.loss && t < 64'000; t *= 2) delay += t;
  };
  if (!open) {
    delay += 2 * link_delay(from, to).first;
    retransmits(1'000, 2);
  }
  retransmits(200, 1);
  return delay;
}

void SimCluster::schedule_wakeup(size_t i) {
  Node& n = nodes_[i];
  if (!n.up) return;
  uint64_t wake = n.membership->next_wakeup();  // on the node's clock
  uint64_t at = std::max(now_, wake - static_cast<uint64_t>(n.skew_ms));
  if (at == n.wakeup_at) return;  // already scheduled
  n.wakeup_at = at;
  events_.push(Event{at, order_++, i, n.epoch, i, false});
}

void SimCluster::step(const Event& e) {
  now_ = e.at;
  Node& n = nodes_[e.node];
  std::optional<gossip::Message> message;
  if (e.message) {
    auto it = payloads_.find(e.order);
    message = std::move(it->second);
    payloads_.erase(it);
  }
  if (!n.up || e.epoch != n.epoch) return;
  if (n.paused_until > now_) {  // stalled: handled when it resumes, in the same order
    if (message) payloads_.emplace(e.order, std::move(*message));
    Event later = e;
    later.at = n.paused_until;
    if (!e.message) {
      if (e.at != n.wakeup_at) return;  // a stale wakeup stays dropped
      n.wakeup_at = later.at;
    }
    events_.push(later);
    return;
  }
  gossip::Effects fx;
  if (message) {
    if (cuts_.count({e.from, e.node})) {  // (a crashed sender's in-flight packets still arrive)
      ++messages_lost_;
      return;
    }
    trace_hash_ = (trace_hash_ ^ (e.at * 1315423911u + e.from * 2654435761u + e.node)) * 0x100000001b3ull;
    n.membership->on_message(nodes_[e.from].address, *message, local(e.node), fx);
  } else {
    if (e.at != n.wakeup_at) return;  // superseded by an earlier wakeup
    n.wakeup_at = UINT64_MAX;
    if (n.membership->next_wakeup() <= local(e.node)) n.membership->tick(local(e.node), fx);
  }
  flush(e.node, fx);
  after(e.node);
  schedule_wakeup(e.node);
}

void SimCluster::run_until_time(uint64_t t) {
  while (!events_.empty() && events_.top().at <= t) {
    Event e = events_.top();
    events_.pop();
    step(e);
  }
  now_ = std::max(now_, t);
}

bool SimCluster::run_until(const std::function<bool()>& pred, uint64_t limit_ms) {
  uint64_t end = now_ + limit_ms;
  if (pred()) return true;
  // The condition is checked whenever virtual time moved on by a tick: often enough for
  // measurements at gossip-round resolution, and cheap when the condition is O(N^2).
  constexpr uint64_t kCheckEveryMs = 10;
  uint64_t next_check = now_ + kCheckEveryMs;
  while (!events_.empty() && events_.top().at <= end) {
    // (Checked before the event leaves the queue: an event taken and then not run would be a
    // message lost, or a node's only wakeup gone, leaving it asleep for good.)
    if (events_.top().at >= next_check) {
      if (pred()) return true;
      next_check = events_.top().at + kCheckEveryMs;
    }
    Event e = events_.top();
    events_.pop();
    step(e);
  }
  now_ = std::max(now_, end);
  return pred();
}

bool SimCluster::all_see_live(const std::vector<size_t>& subjects) const {
  for (size_t v = 0; v < nodes_.size(); ++v)
    if (nodes_[v].up && nodes_[v].membership->alive_count() < subjects.size()) return false;
  for (size_t v = 0; v < nodes_.size(); ++v) {
    if (!nodes_[v].up) continue;
    for (size_t s : subjects) {
      if (s == v) continue;
      auto st = view(v, s);
      if (st != MemberState::alive && st != MemberState::suspect) return false;
    }
  }
  return true;
}

std::optional<MemberState> SimCluster::view(size_t viewer, size_t subject) const {
  const auto& members = nodes_.at(viewer).membership->members();
  const gossip::Member* m = members.find(nodes_.at(subject).replica->id());
  if (!m) return std::nullopt;
  return m->state;
}

bool SimCluster::all_see(const std::vector<size_t>& subjects, MemberState state) const {
  if (state == MemberState::alive) {
    // Cheap necessary condition first (O(1) per viewer): it holds enough live members.
    for (size_t v = 0; v < nodes_.size(); ++v)
      if (nodes_[v].up && nodes_[v].membership->alive_count() < subjects.size()) return false;
  }
  for (size_t v = 0; v < nodes_.size(); ++v) {
    if (!nodes_[v].up) continue;
    for (size_t s : subjects)
      if (s != v && view(v, s) != state) return false;
  }
  return true;
}

}  // namespace weft::sim
