// Membership: SWIM with Lifeguard, as a pure state machine. It owns no socket, clock or thread:
// the shell delivers messages (on_message), calls tick() at next_wakeup(), and sends what the
// core puts in Effects. Randomness comes from a seed. It also carries the cluster state: records
// ride on gossip messages (with a reserved share of every packet) and push-pull syncs run the
// anti-entropy steps of crdt/anti_entropy.hpp against the Replica it is given.
//
// SWIM: one probe per period (randomised round-robin), indirect probes through k members, nacks,
// suspicion refuted by incarnation, dead, left. Lifeguard: a local health multiplier that
// stretches probe periods while this machine misses acks or nacks or has to refute; dogpile
// suspicion timeouts (suspicion.hpp); the buddy system (a suspect learns of its suspicion on the
// next ping it receives).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/rng.hpp"
#include "base/text_pool.hpp"
#include "crdt/replica.hpp"
#include "gossip/broadcast_queue.hpp"
#include "gossip/config.hpp"
#include "gossip/member_table.hpp"
#include "gossip/messages.hpp"
#include "gossip/suspicion.hpp"

namespace weft::gossip {

struct Outgoing {
  std::string to;  // control address
  Message message;
  // The member that address belongs to, when it is one's (not a seed's): the shell may route
  // the message another way to that member (the address it was last heard from, behind NAT).
  std::optional<MemberId> to_member;
};

struct MemberEvent {
  MemberId id{};
  MemberState state = MemberState::alive;
  bool joined = false;  // first time this member is known
};

struct Effects {
  std::vector<Outgoing> out;
  std::vector<MemberEvent> events;
};

struct GossipCounters {
  uint64_t probes = 0, probe_failures = 0, indirect_probes = 0, refutes = 0;
  uint64_t suspects_raised = 0, deaths_declared = 0;
  uint64_t last_checks = 0, last_checks_answered = 0;  // probes before a suspicion turns dead
  uint64_t pings_for_other = 0, unknown_acks = 0, stale_updates = 0;
  uint64_t push_pulls = 0, records_gossiped = 0;
  uint64_t sync_checks = 0, syncs_skipped = 0;  // periodic syncs: checks sent; checks found equal
  uint64_t stream_pings = 0, stream_rescues = 0;  // fallback pings sent; probes they answered first
  uint64_t rtt_sum_ms = 0, rtt_count = 0;
};

class Membership {
 public:
  // `texts`: where member names and addresses are interned; the simulator shares one pool among
  // its nodes. Without one, this membership keeps its own.
  Membership(const MemberId& self, std::string name, std::string address, uint64_t incarnation,
             GossipConfig config, uint64_t seed, crdt::Replica& replica, TextPool* texts = nullptr);

  // Joins through the seed addresses (push-pull to each, retried until one answers).
  void join(const std::vector<std::string>& seeds, uint64_t now, Effects& fx);
  bool joined() const { return joined_; }
  // Starts as a member of a cluster that has already formed, whose members are `members` (the
  // view every member holds): no join exchange and no join syncs; each fact is taken as from a
  // full sync, without gossiping it on. Timers start at a random phase, as in a cluster whose
  // machines started at different times. The simulator's large-cluster start: forming 10,000
  // nodes by joins costs N^2 log N retransmissions whatever the protocol does.
  void start_formed(const std::vector<MemberUpdate>& members, uint64_t now, Effects& fx);

  void on_message(const std::string& from_address, const Message& message, uint64_t now, Effects& fx);
  void tick(uint64_t now, Effects& fx);
  uint64_t next_wakeup() const;

  // Graceful leave: a higher incarnation marked left, told to every live member at once.
  void leave(uint64_t now, Effects& fx);
  // Forgets a dead or left member. False when it is alive or unknown.
  bool forget(const MemberId& id);
  // A machine removed from the cluster (machine rm): forgotten whatever its state, and every
  // later message from or about it is ignored. Permanent for that id.
  void ban(const MemberId& id);

  // Own record writes to disseminate (the replica already holds them).
  void publish(const std::vector<crdt::Record>& records);
  void publish(const std::vector<crdt::RecordRef>& records);

  const MemberTable& members() const { return members_; }
  const Member& self() const { return members_.at(self_); }
  unsigned health() const { return awareness_; }
  const GossipCounters& counters() const { return counters_; }
  size_t alive_count() const;  // alive or suspect, self included; kept current, O(1)
  size_t recount_live() const;  // the same, counted from scratch (tests)
  uint64_t members_hash() const { return members_hash_; }  // sum of member_hash over members, kept current
  uint64_t recount_members_hash() const;  // the same, summed from scratch (tests)
  size_t pending_records() const { return record_queue_.size(); }
  size_t pending_updates() const { return member_queue_.size(); }
  unsigned retransmit_limit() const;

 private:
  struct Probe {
    MemberId target{};
    uint32_t seq = 0;
    uint64_t started = 0, indirect_at = 0, deadline = 0;
    bool acked = false, indirect_sent = false;
    unsigned nacks_expected = 0, nacks = 0;
  };
  struct Relay {
    std::string requester;
    MemberId requester_id{};
    uint32_t seq = 0;
    uint64_t deadline = 0;
  };

  // Membership facts.
  // rebroadcast: pass the fact on by gossip (false for facts from a full sync).
  void apply(const MemberUpdate& u, uint64_t now, Effects& fx, bool rebroadcast = true);
  void apply_alive(const MemberUpdate& u, uint64_t now, Effects& fx, bool rebroadcast);
  void apply_suspect(const MemberId& id, uint64_t incarnation, const MemberId& from, uint64_t now, Effects& fx);
  void apply_dead(const MemberId& id, uint64_t incarnation, const MemberId& from, uint64_t now, Effects& fx);
  void apply_left(const MemberUpdate& u, uint64_t now, Effects& fx, bool rebroadcast);
  void refute(uint64_t incarnation, uint64_t now);
  // The live member a suspect/dead update accuses, or nullptr when the update is about us (we
  // refute it), unknown, or stale.
  Member* accusation_target(const MemberId& id, uint64_t incarnation, uint64_t now);
  void set_state(Member& m, MemberState state, uint64_t now, Effects& fx);
  void set_incarnation(Member& m, uint64_t incarnation);
  MemberUpdate update_of(const Member& m, const MemberId& from) const;
  void broadcast(const MemberUpdate& u);
  Member& add_member(Member m);
  void set_address(Member& m, const std::string& address);
  void claim_address(const Member& m);
  void remove_member(const Member& m);

  // Probing.
  void start_probe(uint64_t now, Effects& fx);
  void finish_probe(uint64_t now, Effects& fx);
  void start_check(const MemberId& id, Suspicion& suspicion, uint64_t now, Effects& fx);
  void send_stream_ping(const Member& m, uint32_t seq, uint64_t now, Effects& fx);
  Suspicion* suspicion_checked_by(uint32_t seq);
  std::optional<MemberId> next_probe_target();
  std::vector<const Member*> random_members(size_t count, const MemberId* exclude, bool include_recent_dead,
                                            uint64_t now);
  void adjust_health(int delta);
  uint64_t scaled(uint64_t ms) const { return ms * (awareness_ + 1); }
  uint64_t push_pull_interval() const;

  // Sending.
  // `to_id`: the member `to` belongs to, when the caller knows (else looked up by address).
  void send(const std::string& to, Body body, uint64_t now, Effects& fx, bool piggyback = true,
            std::optional<MemberId> to_id = std::nullopt);
  void send_push_pull(const std::string& to, bool join, uint64_t now, Effects& fx,
                      std::optional<MemberId> to_id = std::nullopt);
  SyncCheck sync_check() const;  // our members and records as (count, set hash)
  void on_sync_check(const MemberId& from, const std::string& from_address, const SyncCheck& check, uint64_t now,
                     Effects& fx);
  std::string address_of(const MemberId& id, const std::string& fallback) const;
  void receive_records(const std::vector<crdt::Record>& records, uint64_t now);

  MemberId self_;
  GossipConfig config_;
  Rng rng_;
  crdt::Replica& replica_;
  std::unique_ptr<TextPool> own_texts_;  // before members_: their Texts go back to it
  TextPool* texts_;
  // Members by id and by control address. A live member keeps an address that a dead or departed
  // one (a machine restarted with a new id, say) also names.
  MemberTable members_;
  std::vector<const Member*> others_;  // every member but self, for O(1) random picks
  // Members now dead, in the order they died: the reconnect tick picks one without scanning
  // every member (that scan, a cache miss per member, was half of a 1,000-node steady state).
  std::vector<const Member*> dead_;
  crdt::IdHashMap<Suspicion> suspicions_;
  std::set<MemberId> banned_;
  size_t live_count_ = 0;
  uint64_t members_hash_ = 0;  // what sync checks carry; O(1) instead of a pass over every member
  BroadcastQueue<MemberId, MemberUpdate> member_queue_;
  BroadcastQueue<crdt::RecordKey, crdt::RecordRef> record_queue_;  // the replica's shared copies

  std::optional<Probe> probe_;
  std::vector<const Member*> probe_order_;  // a member leaves it when it leaves members_
  size_t probe_index_ = 0;
  std::map<uint32_t, Relay> relays_;
  uint32_t next_seq_ = 1;
  unsigned awareness_ = 0;
  bool leaving_ = false;

  std::vector<std::string> seeds_;
  bool joined_ = false;
  uint64_t joined_at_ = 0;
  unsigned post_join_syncs_done_ = 0;
  MemberId join_answerer_{};  // the member whose answer completed our join
  bool answered_before_joined_ = false;  // a sync (another's join) answered while not joined ourselves
  uint64_t next_probe_at_ = 0, next_gossip_at_ = 0, next_push_pull_at_ = 0, next_reconnect_at_ = 0,
           next_join_try_at_ = 0;
  GossipCounters counters_;
};

}  // namespace weft::gossip
