// SimCluster: many agents' pure cores (Replica + Membership) in one process, one thread,
// virtual time, with a simulated network (latency, jitter, loss, partitions, crashes). Every
// random choice comes from one seed, so a run replays exactly. Gossip tests use it today; the
// weft-sim command line grows on top of it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <set>
#include <string>
#include <vector>

#include "base/rng.hpp"
#include "crdt/replica.hpp"
#include "crdt/subnet.hpp"
#include "gossip/membership.hpp"

namespace weft::sim {

struct NetworkConfig {
  uint64_t latency_ms = 1;  // every link's, unless SimCluster::set_link_delay gave it its own
  uint64_t jitter_ms = 2;   // uniform 0..jitter on top of the latency (datagrams overtake each other)
  double loss = 0.0;  // per datagram; stream messages are not lost but delayed (SimCluster::stream_delay)
  double duplicate = 0.0;  // per datagram: delivered a second time, with a delay of its own
  double reorder = 0.0;    // per datagram: held back 10-100 ms more, so later ones overtake it
};

class SimCluster {
 public:
  SimCluster(uint64_t seed, gossip::GossipConfig gossip = {}, NetworkConfig net = {},
             crdt::ReplicaOptions replica = {});

  // Adds a node that joins through the listed nodes' addresses (none: it founds the cluster).
  size_t add_node(const std::vector<size_t>& seeds);
  // Adds `n` nodes (to an empty cluster) that already form one cluster: each knows every other
  // alive and holds every node's records (its subnet claim, with claim_subnets), as once a join
  // storm has settled. For sizes where the storm itself is not the point (10,000 nodes).
  void add_formed(size_t n);
  void crash(size_t i);                        // stops delivering to/from it; its state is kept
  void restart(size_t i, const std::vector<size_t>& seeds);  // same identity and records, incarnation + 1
  void leave(size_t i);
  bool up(size_t i) const { return nodes_.at(i).up; }
  // A CPU stall: until `until_ms` the node handles nothing; what reaches it waits (as in a
  // socket buffer) and is handled, in order, when it resumes.
  void pause(size_t i, uint64_t until_ms) { nodes_.at(i).paused_until = until_ms; }
  bool paused(size_t i) const { return nodes_.at(i).paused_until > now_; }
  // Clock skew: the node's clock reads the virtual time plus `ms` (its HLC and timers too).
  void set_skew(size_t i, int64_t ms) { nodes_.at(i).skew_ms = ms; }

  // Network faults. A cut blocks datagrams and streams from `from` to `to` (one way).
  void cut(size_t from, size_t to) { cuts_.insert({from, to}); }
  void partition(const std::vector<size_t>& a, const std::vector<size_t>& b);
  void heal() { cuts_.clear(); }
  NetworkConfig& network() { return net_; }
  // Latency and jitter of the link from `from` to `to` (one way), in place of the network's.
  void set_link_delay(size_t from, size_t to, uint64_t latency_ms, uint64_t jitter_ms) {
    link_delays_[{from, to}] = {latency_ms, jitter_ms};
  }
  void clear_link_delays() { link_delays_.clear(); }

  void run_for(uint64_t ms) { run_until_time(now_ + ms); }
  void run_until_time(uint64_t t);
  // Runs until pred() holds (checked every 10 ms of virtual time) or `limit_ms` passes.
  bool run_until(const std::function<bool()>& pred, uint64_t limit_ms);

  uint64_t now() const { return now_; }
  size_t size() const { return nodes_.size(); }
  gossip::Membership& membership(size_t i) { return *nodes_.at(i).membership; }
  crdt::Replica& replica(size_t i) { return *nodes_.at(i).replica; }
  const std::string& address(size_t i) const { return nodes_.at(i).address; }
  // A node's view of another: nullopt when unknown.
  std::optional<gossip::MemberState> view(size_t viewer, size_t subject) const;
  // True when every up node sees every node of `subjects` in `state`.
  bool all_see(const std::vector<size_t>& subjects, gossip::MemberState state) const;
  // True when every up node sees every node of `subjects` live (alive, or suspect: under loss
  // some suspicion is always being refuted somewhere in a large cluster).
  bool all_see_live(const std::vector<size_t>& subjects) const;

  // Writes a record on node i and hands it to gossip.
  void write(size_t i, crdt::Kind kind, const std::string& name, std::string value);

  // Observation hooks for scenarios (weft-sim): membership state changes as nodes report them,
  // the first time each node holds a watched record, and encoded bytes sent (when enabled).
  struct StateEvent {
    uint64_t at;
    size_t viewer, subject;
    gossip::MemberState state;
  };
  const std::vector<StateEvent>& state_events() const { return state_events_; }
  void watch(const crdt::RecordKey& key);
  const std::vector<uint64_t>& first_seen() const { return first_seen_; }  // UINT64_MAX: not yet
  void count_bytes(bool on) { count_bytes_ = on; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  // Every node settles a /24 of `network` with the agent's own schedule (crdt::SubnetSettler).
  // `broken_gate` (test-only): they claim before their first sync, which the invariants must catch.
  void claim_subnets(const Ipv4Net& network, bool broken_gate = false);
  // Gossips what node i's replica wrote since the last call (its outbox).
  void publish_written(size_t i);
  // Claims written by a node that had not completed a sync with the cluster (from a partial view).
  uint64_t claims_before_sync() const { return claims_before_sync_; }
  size_t index_of(const crdt::OwnerId& id) const;

  // Most membership updates / records waiting in gossip queues at once, summed over the nodes:
  // the storm's transient memory (each queued item is a copy waiting for its retransmissions).
  uint64_t peak_queued_updates() const { return peak_queued_updates_; }
  uint64_t peak_queued_records() const { return peak_queued_records_; }

  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_lost() const { return messages_lost_; }
  uint64_t messages_duplicated() const { return messages_duplicated_; }
  // Order-sensitive hash of every delivery: equal for equal seeds (replay check).
  uint64_t trace_hash() const { return trace_hash_; }

 private:
  struct Node {
    std::unique_ptr<crdt::SigningKey> key;
    std::unique_ptr<crdt::Replica> replica;
    std::unique_ptr<gossip::Membership> membership;
    std::optional<crdt::SubnetSettler> settler;
    std::string address;
    bool up = true;
    uint64_t epoch = 0;  // bumps on crash so stale wakeups are ignored
    uint64_t wakeup_at = UINT64_MAX;  // the one wakeup event that counts (others are stale)
    uint64_t paused_until = 0;
    int64_t skew_ms = 0;
  };
  // Node i's clock: virtual time plus its skew.
  uint64_t local(size_t i) const { return now_ + static_cast<uint64_t>(nodes_[i].skew_ms); }
  // Events stay small for the heap; message bodies wait in payloads_ under the event's order.
  struct Event {
    uint64_t at;
    uint64_t order;
    size_t node;
    uint64_t epoch;
    size_t from;
    bool message;  // false: a wakeup
    bool operator>(const Event& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
  };

  size_t create_node();  // key, replica and address; no membership yet
  void start_node(size_t i, const std::vector<size_t>& seeds);
  void flush(size_t from, gossip::Effects& fx);
  void schedule_wakeup(size_t i);
  uint64_t stream_delay(size_t from, size_t to);
  void step(const Event& e);

  gossip::GossipConfig gossip_;
  NetworkConfig net_;
  // Shared by every node (declared before nodes_, which point into them); held by pointer so a
  // moved cluster's nodes still find them.
  std::unique_ptr<crdt::VerifyMemo> verify_memo_ = std::make_unique<crdt::VerifyMemo>();
  std::unique_ptr<TextPool> texts_ = std::make_unique<TextPool>();  // members' names and addresses
  crdt::ReplicaOptions replica_options_;
  Rng rng_;
  uint64_t now_ = 1'700'000'000'000;
  uint64_t order_ = 0;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, size_t> by_address_;  // (hashed: looked up for every message sent)
  std::set<std::pair<size_t, size_t>> cuts_;
  std::map<std::pair<size_t, size_t>, std::pair<uint64_t, uint64_t>> link_delays_;  // (latency, jitter)
  std::pair<uint64_t, uint64_t> link_delay(size_t from, size_t to) const;
  uint64_t draw_delay(size_t from, size_t to, bool datagram);  // latency, jitter; reordering for datagrams
  std::map<std::pair<size_t, size_t>, uint64_t> connections_;  // stream connections: last use
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::unordered_map<uint64_t, gossip::Message> payloads_;
  uint64_t messages_sent_ = 0, messages_lost_ = 0, messages_duplicated_ = 0, trace_hash_ = 0xcbf29ce484222325ull;
  std::vector<StateEvent> state_events_;
  std::optional<crdt::RecordKey> watched_;
  std::vector<uint64_t> first_seen_;
  bool count_bytes_ = false;
  uint64_t bytes_sent_ = 0;
  std::optional<Ipv4Net> network_;  // subnets are claimed from it (claim_subnets)
  bool broken_settle_gate_ = false;
  std::vector<bool> ever_joined_;
  uint64_t claims_before_sync_ = 0;
  crdt::IdHashMap<size_t> by_id_;
  std::vector<std::pair<size_t, size_t>> queued_;  // each node's (updates, records) queued at its last event
  uint64_t queued_updates_ = 0, queued_records_ = 0, peak_queued_updates_ = 0, peak_queued_records_ = 0;
  void after(size_t i);
};

}  // namespace weft::sim
