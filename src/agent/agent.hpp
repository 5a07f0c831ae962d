// The agent: the composition root. It owns the data dir's store, the machine's identity, the
// Replica and Membership cores, the control port (UDP datagrams and TCP streams on one port,
// demultiplexed by first byte), the timer that drives the cores, and the local API. Everything
// protocol-shaped happens in the cores; this file only moves bytes and time.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <set>
#include <vector>

#include "agent/cluster_info.hpp"
#include "agent/control_streams.hpp"
#include "agent/dns_forwarder.hpp"
#include "agent/dns_server.hpp"
#include "agent/docker_watcher.hpp"
#include "agent/local_api.hpp"
#include "agent/mesh_network.hpp"
#include "crdt/replica.hpp"
#include "crdt/subnet.hpp"
#include "dns/answer_cache.hpp"
#include "dns/zone.hpp"
#include "gossip/membership.hpp"
#include "gossip/seal.hpp"
#include "store/identity.hpp"
#include "paths/candidates.hpp"
#include "paths/control_routes.hpp"
#include "paths/path_select.hpp"
#include "stun/rate_limit.hpp"
#include "stun/reflexive.hpp"
#include "paths/relay.hpp"
#include "access/plan.hpp"
#include "store/record_store.hpp"

namespace weft::agent {

class AgentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AgentOptions {
  std::filesystem::path data_dir;
  std::string name;                // default: stored name, else the host name
  std::string bind = "0.0.0.0:51821";
  std::string advertise;           // default: the bind address (must then be specific)
  std::string token;               // for a fresh data dir
  std::vector<std::string> join;   // seeds, in addition to the token's
  MeshOptions mesh;  // mesh.backend "none": gossip and DNS only, no host networking
  DockerOptions docker;  // used once host networking is up
  std::vector<std::string> dns_listen;
  // Upstream resolvers for outside names: IP[:PORT] each; empty: /etc/resolv.conf's; "none":
  // refuse outside names.
  std::vector<std::string> dns_upstream;
  std::filesystem::path resolv_conf = "/etc/resolv.conf";
  // Relaying for pairs whose direct path fails: auto (when no NAT stands in front of this
  // machine) or off. Limits in packets per second.
  std::string relay = "auto";
  std::vector<std::string> stun_servers;  // IP:PORT each, asked before the members; none by default
  uint64_t relay_pair_pps = 50'000;
  uint64_t relay_total_pps = 500'000;
  uint64_t join_timeout_ms = 20'000;
  // Access sessions' addresses (wg/access_plan.hpp): the cluster network's size, overlapping
  // nothing local; "off": this machine grants none.
  std::string access_range = "10.77.0.0/16";
  gossip::GossipConfig gossip;
};

struct DropCounters {
  uint64_t not_control = 0;   // first byte neither sealed nor STUN
  uint64_t stun_dropped = 0;    // STUN-shaped but malformed, or not a request
  uint64_t undecodable = 0;   // authenticated but not a valid message
};

struct RelayEnd;  // agent_relay.cpp

class Agent {
 public:
  Agent(boost::asio::io_context& io, AgentOptions options);
  ~Agent();
  // Binds the control port and the API, starts joining. Throws AgentError with a clear message.
  void start();
  // Called once with an exit code when the agent decides to stop (leave, join failure).
  std::function<void(int, const std::string&)> on_exit;

 private:
  using udp = boost::asio::ip::udp;
  using tcp = boost::asio::ip::tcp;

  uint64_t now_ms() const;
  void open_state();
  void receive_datagram();
  void answer_stun(size_t n);
  void probe_reflexive(uint64_t now);
  void send_stun(const boost::asio::ip::udp::endpoint& to, std::vector<uint8_t> bytes);
  void on_frame(std::span<const uint8_t> frame, const std::string& from,
                const std::function<void(const crdt::OwnerId&)>& authenticated);
  std::vector<std::string> control_candidates(const crdt::OwnerId& member) const;
  std::vector<std::string> control_targets(const crdt::OwnerId& member, const std::string& address, uint64_t now) const;
  void write_control_candidates();
  void run_effects(gossip::Effects& fx);
  void after_event();
  void send(gossip::Outgoing& out);
  void arm_timer();
  void on_timer();
  void settle_subnet();
  void write_machine_record();
  void check_join(uint64_t now);
  void exit(int code, const std::string& why);
  ApiResponse handle(const ApiRequest& req);
  std::string members_json() const;
  std::string status_json() const;
  std::string metrics_text() const;
  std::optional<std::string> subnet_text(const crdt::OwnerId& owner) const;
  void answer_dns(std::span<const uint8_t> query, bool tcp, const boost::asio::ip::address& client, DnsServer::Reply reply);
  const dns::ZoneView& dns_view();
  void start_dns();
  void start_mesh();
  void write_wireguard_candidates(uint64_t now);
  void choose_paths(wg::PeerSet& wanted, const wg::DeviceStatus& status, uint64_t now);
  void publish_observed(const wg::PeerSet& wanted, const wg::DeviceStatus& status, uint64_t now);
  void reconcile_mesh(uint64_t now);
  wg::PeerSet wanted_mesh_peers(uint64_t now) const;
  std::set<crdt::OwnerId> live_members() const;
  bool is_live(const crdt::OwnerId& id) const;  // as live_members() holds it, one lookup
  std::string peers_json();
  // Relay (agent_relay.cpp).
  std::vector<crdt::OwnerId> relay_capable_members() const;
  std::optional<std::string> relay_for(const crdt::OwnerId& peer, bool needed, uint64_t now);
  void close_relay_end(const crdt::OwnerId& peer);
  std::string relay_name(const crdt::OwnerId& peer) const;  // the relay carrying that peer ("" none)
  void send_control(const crdt::OwnerId& to, const std::string& address, gossip::Body body, bool route);
  void on_relay_bind(const crdt::OwnerId& sender, const gossip::RelayBind& bind, const std::string& from);
  void on_relay_bound(const crdt::OwnerId& sender, const gossip::RelayBound& bound, const std::string& from);
  void receive_proxy(std::shared_ptr<RelayEnd> end);
  void on_relay_datagram(size_t n);
  // Access sessions (agent_access.cpp).
  void check_access_range();
  void audit(nlohmann::json event);
  std::vector<access::AccessSession> own_sessions() const;
  void expire_sessions(uint64_t now);
  std::optional<crdt::Record> end_session(const access::AccessSession& s, nlohmann::json event, uint64_t now);
  void apply_access_rules(uint64_t now);
  void audit_sessions(const wg::PeerSet& wanted, const wg::DeviceStatus& status, uint64_t now);
  void prune_sessions(uint64_t now);
  ApiResponse handle_access(const ApiRequest& req);
  void start_docker();
  void apply_containers(const std::vector<docker::Container>& containers);

  boost::asio::io_context& io_;
  AgentOptions options_;
  std::unique_ptr<store::RecordStore> store_;
  std::unique_ptr<store::Identity> identity_;
  std::unique_ptr<crdt::Replica> replica_;
  ClusterInfo cluster_;
  std::unique_ptr<gossip::FrameSealer> sealer_;
  std::unique_ptr<gossip::Membership> membership_;
  std::optional<crdt::SubnetSettler> settler_;
  std::string advertise_;
  std::vector<std::string> seeds_;
  bool founder_ = false;
  bool synced_before_ = false;  // completed an exchange in an earlier run
  bool synced() const { return crdt::synced_with_cluster(founder_, synced_before_, membership_->joined()); }

  udp::socket udp_;
  std::unique_ptr<ControlStreams> streams_;
  paths::ControlRoutes routes_;  // where members' datagrams go (behind NAT: where they come from)
  boost::asio::steady_timer timer_;
  std::unique_ptr<LocalApi> api_;
  std::array<uint8_t, 65536> datagram_{};
  udp::endpoint datagram_from_;

  std::chrono::steady_clock::time_point started_steady_;
  uint64_t started_wall_ms_ = 0;
  uint64_t join_deadline_ = 0;
  uint64_t next_stream_sweep_ = 0;
  unsigned seed_connect_failures_ = 0;
  std::optional<uint64_t> persisted_exchange_;
  bool exiting_ = false;
  size_t banned_ = 0;
  DropCounters drops_;
  std::unique_ptr<MeshNetwork> mesh_;
  std::array<uint64_t, 5> mesh_key_{};  // the wanted peer set's inputs at the last reconcile
  uint64_t next_mesh_check_ = 0;        // drift repair and retries after device errors
  uint64_t next_host_try_ = 0;          // retry of host networking after an error
  uint64_t next_candidates_ = 0;        // interface addresses are read again (they change)
  std::vector<Ipv4Net> local_networks_;  // this machine's own networks: same-LAN candidates rank first
  std::map<wg::Key, paths::PathSelector> paths_;
  std::map<wg::Key, paths::PathChoice> path_choices_;
  bool paths_trying_ = false;
  bool relay_capable_ = false;  // published in the machine record: we relay for others
  std::unique_ptr<paths::RelayTable> relay_table_;
  std::map<crdt::OwnerId, std::shared_ptr<RelayEnd>> relay_ends_;  // by peer
  std::map<uint64_t, std::shared_ptr<RelayEnd>> relay_channels_;
  uint64_t relay_in_ = 0, relay_out_ = 0, relay_send_errors_ = 0, relay_malformed_ = 0, relay_not_ours_ = 0,
           relay_refused_ = 0, relay_refused_not_live_ = 0;
  std::map<crdt::OwnerId, uint64_t> observed_published_;  // per peer, when we last wrote what we see
  uint64_t mesh_held_ = 0;              // reconciles held back: no complete sync in this run yet
  std::array<uint64_t, 5> held_key_{};
  std::string access_off_;              // why this machine grants no sessions ("" when it does)
  uint64_t next_access_expiry_ = 0;      // expire_sessions runs at start, then at each deadline
  uint64_t access_version_ = UINT64_MAX;  // access records' version at the last expire_sessions
  uint64_t next_bytes_audit_ = 0;
  uint64_t pruned_version_ = UINT64_MAX;  // access records' version at the last pre-sync prune
  std::array<uint64_t, 3> access_rules_key_{};
  std::map<std::string, uint64_t> first_handshakes_;  // by session: when (in the audit log)
  std::map<std::string, std::pair<uint64_t, uint64_t>> session_bytes_;  // rx, tx last audited
  std::map<std::string, std::pair<uint64_t, uint64_t>> session_seen_;   // rx, tx last seen
  bool cleanup_requested_ = false;      // leave --cleanup
  std::string mesh_dns_address_;        // the .1:53 the DNS server listens on, once it does
  std::unique_ptr<DockerWatcher> docker_;
  std::string docker_refused_;          // the refusals last logged (logged again only when they change)
  std::unique_ptr<DnsServer> dns_;
  std::unique_ptr<DnsForwarder> forwarder_;
  dns::AnswerCache dns_cache_;  // valid for the current dns_view_
  std::optional<dns::ZoneView> dns_view_;
  std::array<uint64_t, 4> dns_view_key_{};
  uint64_t member_changes_ = 0;  // bumps on every membership event (the DNS view's liveness)
  std::unique_ptr<Rng> dns_rng_;
  uint64_t dns_refused_ = 0, dns_formerr_ = 0, dns_nxdomain_ = 0;
  uint64_t stun_answered_ = 0, stun_rate_limited_ = 0;
  stun::SourceRateLimit stun_limit_{stun::SourceRateLimit::Config{}};
  uint64_t stun_responses_ = 0;         // answers to our own Binding requests
  std::unique_ptr<stun::ReflexiveProbe> reflexive_;
  uint64_t next_reflexive_ = 0;
  bool reflexive_pending_ = false;      // a round of STUN requests is out         // the next round of asking peers who we are
  uint64_t frames_in_ = 0, frames_out_ = 0, bytes_in_ = 0, bytes_out_ = 0, send_errors_ = 0;
};

}  // namespace weft::agent
