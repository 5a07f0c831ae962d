// The agent's host side: the WireGuard mesh (device, host networking, peer reconcile) and the
// DNS server's listeners (--dns-listen and the machine's .1:53).
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/address.hpp"
#include "agent/agent.hpp"
#include "base/hex.hpp"
#include "crdt/values.hpp"
#include "docker/container_records.hpp"
#include "wg/key_text.hpp"

namespace weft::agent {

using json = nlohmann::json;

void Agent::start_mesh() {
  if (options_.mesh.backend == "none") return;
  check_access_range();
  auto bind = parse_host_port(options_.bind);
  try {
    mesh_ = std::make_unique<MeshNetwork>(options_.mesh, cluster_.network, bind->port, identity_->wireguard_private,
                                          options_.data_dir);
  } catch (const wg::DeviceError& e) {
    throw AgentError(e.what());
  }
  spdlog::info("WireGuard {} backend on {}, UDP {}", options_.mesh.backend, options_.mesh.interface_name,
               options_.mesh.listen_port);
}

namespace {

std::vector<paths::InterfaceAddress> interface_addresses() {
  std::vector<paths::InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (auto* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !(a->ifa_flags & IFF_UP)) continue;
    const auto* addr = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    const auto* mask = reinterpret_cast<const sockaddr_in*>(a->ifa_netmask);
    auto prefix = static_cast<uint8_t>(mask ? __builtin_popcount(ntohl(mask->sin_addr.s_addr)) : 32);
    out.push_back({a->ifa_name, Ipv4{ntohl(addr->sin_addr.s_addr)}, prefix});
  }
  freeifaddrs(list);
  return out;
}

std::optional<Ipv4> v4_of(const boost::asio::ip::address& ip) {
  if (ip.is_v4() && !ip.is_unspecified()) return Ipv4{ip.to_v4().to_uint()};
  return std::nullopt;
}

// When a machine's reachability last changed: its WireGuard and control candidates (the NAT in
// front of it changed, say). Both ends of a pair compute the same epoch from the records.
uint64_t reachability_changed(const crdt::ClusterState& state, const crdt::OwnerId& owner) {
  uint64_t at = 0;
  for (const auto* name : {&wg::kWireguardCandidatesName, &paths::kControlCandidatesName})
    if (const auto* r = state.find(crdt::RecordKey{owner, crdt::Kind::endpoint_candidates, *name})) at = std::max(at, r->hlc.millis());
  return at;
}

}  // namespace

// This machine's WireGuard candidates (stun/candidates.hpp), published when they change: the
// interfaces are read again every 30 s, the reflexive address after every STUN round.
void Agent::write_wireguard_candidates(uint64_t now) {
  if (!mesh_) return;
  next_candidates_ = now + 30'000;
  auto usable = paths::usable_interfaces(interface_addresses(), cluster_.network, options_.mesh.interface_name,
                                        options_.mesh.bridge);
  local_networks_.clear();
  for (const auto& a : usable) {
    Ipv4Net net{a.address, a.prefix};
    net.base.value &= net.mask();
    local_networks_.push_back(net);
  }
  std::optional<crdt::Endpoint> advertise_wg;
  if (auto hp = parse_host_port(options_.mesh.advertise_wg)) advertise_wg = crdt::Endpoint{hp->ip.to_string(), hp->port};
  std::optional<Ipv4> control_ip, reflexive_ip;
  if (auto hp = parse_host_port(advertise_)) control_ip = v4_of(hp->ip);
  if (auto r = reflexive_->reflexive(); r && reflexive_->mapping() != stun::Mapping::address_dependent)
    if (!r->v6) reflexive_ip = Ipv4{uint32_t{r->ip[0]} << 24 | uint32_t{r->ip[1]} << 16 | uint32_t{r->ip[2]} << 8 | r->ip[3]};
  crdt::EndpointCandidatesValue v{
      paths::own_candidates(advertise_wg, control_ip, usable, reflexive_ip, options_.mesh.listen_port)};
  auto value = crdt::encode_value(v);
  const crdt::Record* held =
      replica_->state().find(crdt::RecordKey{replica_->id(), crdt::Kind::endpoint_candidates, wg::kWireguardCandidatesName});
  if (held && !held->tombstone && held->value == value) return;
  std::string text;
  for (const auto& c : v.candidates) text += wg::format_endpoint(c.ip, c.port) + " ";
  spdlog::info("WireGuard endpoint candidates: {}", text);
  replica_->put(crdt::Kind::endpoint_candidates, wg::kWireguardCandidatesName, value, now);
}

// Path selection for every wanted peer (stun/path_select.hpp): sets its endpoint and keepalive.
void Agent::choose_paths(wg::PeerSet& wanted, const wg::DeviceStatus& status, uint64_t now) {
  const auto& state = replica_->state();
  std::map<crdt::OwnerId, std::vector<crdt::Endpoint>> observed;
  state.for_each_of_kind(crdt::Kind::observed_endpoints, [&](const crdt::Record& r) {
    if (r.tombstone) return;
    if (auto v = crdt::decode_observed_endpoint(r.value); v && v->peer != r.key.owner) observed[v->peer].push_back(v->endpoint);
  });
  std::map<wg::Key, const wg::PeerStatus*> held;
  for (const auto& p : status.peers) held.emplace(p.public_key, &p);
  // The slot schedule counts from the machines' own reachability records only: observations
  // come from third parties at moments the two ends learn apart, and would skew their slots.
  uint64_t mine = reachability_changed(state, replica_->id());
  paths_trying_ = false;
  audit_sessions(wanted, status, now);
  for (auto& [key, want] : wanted) {
    if (want.access) continue;  // the client comes to us
    paths::PathInputs in;
    in.now = now;
    auto ranked = paths::rank_candidates(wg::wireguard_candidates(state, want.owner), observed[want.owner], local_networks_);
    in.epoch = std::max(mine, reachability_changed(state, want.owner));
    for (const auto& c : ranked) in.candidates.push_back(wg::format_endpoint(c.ip, c.port));
    auto it = held.find(key);
    if (it == held.end()) {
      // Gone from the device though wanted (someone removed it by hand): that is drift, the
      // plan adds it back as it was; the path did not fail.
      if (auto before = path_choices_.find(key); before != path_choices_.end()) {
        want.endpoint = before->second.endpoint;
        want.keepalive = before->second.keepalive;
        if (before->second.kind == paths::PathKind::trying) paths_trying_ = true;
        continue;
      }
    } else {
      in.device_endpoint = it->second->endpoint;
      if (it->second->last_handshake_sec)
        in.last_handshake_ms = it->second->last_handshake_sec * 1000 + it->second->last_handshake_nsec / 1'000'000;
      in.rx_bytes = it->second->rx_bytes;
    }
    auto& selector = paths_[key];
    in.relay = relay_for(want.owner, selector.wants_relay(now), now);
    auto choice = selector.step(in);
    if (choice.kind == paths::PathKind::trying) paths_trying_ = true;
    want.endpoint = choice.endpoint;
    want.keepalive = choice.keepalive;
    want.kick = choice.kick;
    want.restart = choice.restart;
    auto& before = path_choices_[key];
    if (before.kind != choice.kind || before.endpoint != choice.endpoint || before.keepalive != choice.keepalive) {
      if (before.kind != choice.kind || choice.kind != paths::PathKind::trying)
        spdlog::info("peer {}: {} {} ({})", want.name, paths::path_name(choice.kind),
                     choice.endpoint.empty() ? "-" : choice.endpoint, choice.reason);
    }
    before = choice;
  }
  std::erase_if(paths_, [&](const auto& p) { return !wanted.contains(p.first); });
  std::set<crdt::OwnerId> owners;
  for (const auto& [key, want] : wanted)
    if (!want.access) owners.insert(want.owner);
  std::vector<crdt::OwnerId> gone;
  for (const auto& [peer, end] : relay_ends_)
    if (!owners.contains(peer)) gone.push_back(peer);
  for (const auto& peer : gone) close_relay_end(peer);
  std::erase_if(path_choices_, [&](const auto& p) { return !wanted.contains(p.first); });
  publish_observed(wanted, status, now);
}

// What our device sees as a peer's endpoint, when that is none of the peer's own candidates
// (its NAT's mapping of its WireGuard port): published for the peer's other partners to try,
// at most once a minute per peer and only when it changed.
void Agent::publish_observed(const wg::PeerSet& wanted, const wg::DeviceStatus& status, uint64_t now) {
  for (const auto& p : status.peers) {
    auto w = wanted.find(p.public_key);
    if (w == wanted.end() || w->second.access || p.endpoint.empty() || !p.last_handshake_sec) continue;
    if (now > p.last_handshake_sec * 1000 + 180'000) continue;  // no session: the endpoint may be stale
    auto hp = parse_host_port(p.endpoint);
    if (!hp || hp->ip.is_loopback()) continue;  // a relay's local endpoint says nothing about the peer
    crdt::Endpoint seen{hp->ip.to_string(), hp->port};
    auto own = wg::wireguard_candidates(replica_->state(), w->second.owner);
    std::string name = to_hex(w->second.owner);
    const auto* held = replica_->state().find(crdt::RecordKey{replica_->id(), crdt::Kind::observed_endpoints, name});
    if (std::find(own.begin(), own.end(), seen) != own.end()) {
      // The peer is reachable where it says (its NAT changed): what we published is stale.
      if (held && !held->tombstone) replica_->erase(crdt::Kind::observed_endpoints, name, now);
      continue;
    }
    auto value = crdt::encode_value(crdt::ObservedEndpointValue{w->second.owner, seen});
    if (held && !held->tombstone && held->value == value) continue;
    auto& last = observed_published_[w->second.owner];
    if (last && now < last + 60'000) continue;
    last = now;
    replica_->put(crdt::Kind::observed_endpoints, name, value, now);
  }
}

// Machines whose records are served (DNS) and who are peers (WireGuard): alive or suspect, and
// this one. A member is out only once SWIM declares it dead or it left.
namespace {
bool live_state(gossip::MemberState s) { return s == gossip::MemberState::alive || s == gossip::MemberState::suspect; }
}  // namespace

std::set<crdt::OwnerId> Agent::live_members() const {
  std::set<crdt::OwnerId> live;
  for (const gossip::Member& m : membership_->members())
    if (live_state(m.state)) live.insert(m.id);
  live.insert(replica_->id());
  return live;
}

bool Agent::is_live(const crdt::OwnerId& id) const {
  if (id == replica_->id()) return true;
  const gossip::Member* m = membership_->members().find(id);
  return m && live_state(m->state);
}

// Every machine peer, and the live access sessions of this machine.
wg::PeerSet Agent::wanted_mesh_peers(uint64_t now) const {
  std::optional<wg::AccessRouting> access;
  if (options_.mesh.access_range) access = wg::AccessRouting{*options_.mesh.access_range, cluster_.network};
  auto wanted = wg::wanted_peers(replica_->state(), live_members(), replica_->id(), wg::kDefaultKeepalive, access);
  if (options_.mesh.access_range) wanted.merge(access::session_peers(access::live_sessions(own_sessions(), now)));  // a machine's key wins
  return wanted;
}

void Agent::reconcile_mesh(uint64_t now) {
  if (!mesh_ || exiting_) return;
  if (now >= next_access_expiry_ || access_version_ != replica_->state().kind_version(crdt::Kind::access_session)) {
    expire_sessions(now);
    access_version_ = replica_->state().kind_version(crdt::Kind::access_session);
  }
  auto subnet = settler_->claimer().confirmed(*replica_, synced());
  if (subnet && mesh_->subnet() != subnet) {
    if (now < next_host_try_) return;  // after an error, retry a little later
    try {
      auto before = mesh_->configure(*subnet);
      if (before && store_->get_meta("host.ip_forward_before").value_or("").empty())
        store_->put_meta("host.ip_forward_before", *before);
    } catch (const wg::DeviceError& e) {
      spdlog::error("host networking for {}: {}", subnet->to_string(), e.what());
      next_host_try_ = now + 5'000;
      return;
    }
    start_docker();
    if (options_.mesh.mesh_dns && dns_) {
      std::string address = Ipv4{subnet->base.value + 1}.to_string() + ":53";
      if (address != mesh_dns_address_) {
        try {
          dns_->listen(address);
          mesh_dns_address_ = address;
          spdlog::info("DNS on {} (UDP and TCP)", address);
        } catch (const std::exception& e) {
          spdlog::error("DNS on the mesh address: {}", e.what());
        }
      }
    }
  }
  // Never from a partial view: peers are applied only once this run has completed a sync. And
  // only with the interface up: a keepalive sent at once then starts the first handshake.
  const auto& state = replica_->state();
  std::array<uint64_t, 5> key{state.kind_version(crdt::Kind::machine), state.kind_version(crdt::Kind::subnet_claim),
                              state.kind_version(crdt::Kind::endpoint_candidates), member_changes_,
                              state.kind_version(crdt::Kind::access_session)};
  bool changed = key != mesh_key_;
  apply_access_rules(now);
  if (!membership_->joined() || !mesh_->subnet()) {
    prune_sessions(now);
    if (mesh_->subnet() && key != held_key_) ++mesh_held_;  // counted once per change of the view
    held_key_ = key;
    return;
  }
  if (now >= next_candidates_) write_wireguard_candidates(now);
  if (!changed && now < next_mesh_check_) return;
  mesh_key_ = key;
  try {
    mesh_->reconcile(wanted_mesh_peers(now),
                     [&](wg::PeerSet& wanted, const wg::DeviceStatus& status) { choose_paths(wanted, status, now); });
    // Paths being tried are looked at every second (a handshake ends the attempt); otherwise
    // every 5 s (a path that went down, drift repair: someone may edit the device by hand).
    next_mesh_check_ = now + (paths_trying_ ? 1'000 : 5'000);
  } catch (const wg::DeviceError& e) {
    spdlog::error("WireGuard: {}", e.what());
    next_mesh_check_ = now + 2'000;
  }
}

std::string Agent::peers_json() {
  json out = json::array();
  if (!mesh_) return out.dump();
  wg::DeviceStatus status = mesh_->status();
  auto wanted = wanted_mesh_peers(now_ms());
  std::map<wg::Key, std::string> names;  // every machine's key, to name peers that are no longer wanted
  replica_->state().for_each_of_kind(crdt::Kind::machine, [&](const crdt::Record& r) {
    if (r.tombstone) return;
    if (auto m = crdt::decode_machine(r.value)) names.emplace(m->wireguard_key, m->name);
  });
  uint64_t now_s = now_ms() / 1000;
  for (const auto& p : status.peers) {
    json j{{"public_key", wg::key_to_base64(p.public_key)},
           {"endpoint", p.endpoint.empty() ? json() : json(p.endpoint)},
           {"path", "direct"},
           {"reason", json()},
           {"allowed_ips", p.allowed_ips},
           {"rx_bytes", p.rx_bytes},
           {"tx_bytes", p.tx_bytes},
           {"keepalive", p.keepalive},
           {"latest_handshake_age_s", p.last_handshake_sec ? json(now_s > p.last_handshake_sec ? now_s - p.last_handshake_sec : 0) : json()}};
    auto w = wanted.find(p.public_key);
    auto n = names.find(p.public_key);
    j["machine"] = n != names.end() ? json(n->second) : json();
    if (w != wanted.end() && w->second.access) {
      j["machine"] = w->second.name;
      j["path"] = "access";
    }
    j["id"] = w != wanted.end() ? json(to_hex(w->second.owner)) : json();
    j["wanted"] = w != wanted.end();
    if (auto c = path_choices_.find(p.public_key); c != path_choices_.end()) {
      j["path"] = paths::path_name(c->second.kind);
      j["reason"] = c->second.reason;
      if (c->second.kind == paths::PathKind::relay && w != wanted.end()) j["relay"] = relay_name(w->second.owner);
    }
    out.push_back(std::move(j));
  }
  return out.dump();
}

void Agent::start_docker() {
  if (docker_ || options_.docker.mode == "off" || !mesh_->subnet()) return;
  docker_ = std::make_unique<DockerWatcher>(io_, options_.docker, options_.mesh.bridge, *mesh_->subnet(), options_.mesh.iptables,
                                            [this](const std::vector<docker::Container>& cs) { apply_containers(cs); });
  docker_->start();
}

// Running labelled containers -> this machine's service-instance and lease records.
void Agent::apply_containers(const std::vector<docker::Container>& containers) {
  if (exiting_ || !mesh_->subnet()) return;
  auto plan = docker::plan_container_records(replica_->state(), replica_->id(), *mesh_->subnet(), containers);
  std::string refused;
  for (const auto& r : plan.refused) refused += r.container + ": " + r.reason + "; ";
  if (refused != docker_refused_ && !refused.empty()) spdlog::warn("Docker: containers without records: {}", refused);
  docker_refused_ = refused;
  if (plan.writes.empty()) return;
  std::vector<crdt::Record> written;
  uint64_t now = now_ms();
  for (const auto& w : plan.writes) {
    if (w.value.empty()) {
      if (auto r = replica_->erase(w.kind, w.name, now)) written.push_back(*r);
    } else {
      written.push_back(replica_->put(w.kind, w.name, w.value, now));
    }
  }
  spdlog::info("Docker: {} record change(s) for {} labelled container(s)", written.size(), containers.size());

  after_event();
}

void Agent::start_dns() {
  if (options_.dns_listen.empty() && !(mesh_ && options_.mesh.mesh_dns)) return;
  uint64_t dns_seed;
  randombytes_buf(&dns_seed, sizeof dns_seed);
  dns_rng_ = std::make_unique<Rng>(dns_seed);
  dns_ = std::make_unique<DnsServer>(io_, [this](std::span<const uint8_t> q, bool over_tcp, const boost::asio::ip::address& client,
                                                 DnsServer::Reply reply) { answer_dns(q, over_tcp, client, std::move(reply)); });
  // With a mesh and no --dns-listen, loopback port 53 too (best effort: another resolver may
  // hold it), so the host itself can use the mesh's names.
  bool loopback_default = options_.dns_listen.empty();
  std::vector<std::string> addresses = loopback_default ? std::vector<std::string>{"127.0.0.1:53"} : options_.dns_listen;
  std::vector<boost::asio::ip::udp::endpoint> listening, upstreams;
  for (const auto& address : addresses)
    if (auto hp = parse_host_port(address)) listening.emplace_back(hp->ip, hp->port);
  bool none = options_.dns_upstream.size() == 1 && options_.dns_upstream[0] == "none";
  if (!none && !options_.dns_upstream.empty()) {
    for (const auto& u : options_.dns_upstream) {
      // IPv4[:PORT], [IPv6]:PORT, or a bare IPv6 address (port 53).
      boost::system::error_code ec;
      auto bare = boost::asio::ip::make_address(u, ec);
      if (!ec) {
        upstreams.emplace_back(bare, 53);
        continue;
      }
      auto hp = parse_host_port(u.find(':') == std::string::npos ? u + ":53" : u);
      if (!hp) throw AgentError("--dns-upstream " + u + " is not IPv4[:PORT], [IPv6]:PORT or IPv6 (or none)");
      upstreams.emplace_back(hp->ip, hp->port);
    }
  } else if (!none) {
    std::ifstream in(options_.resolv_conf);
    std::stringstream text;
    text << in.rdbuf();
    upstreams = DnsForwarder::from_resolv_conf(text.str(), listening);
    // A resolv.conf naming a mesh address (this machine's .1, say) would forward to ourselves.
    std::erase_if(upstreams, [&](const auto& u) {
      return u.address().is_v4() && cluster_.network.contains(Ipv4{u.address().to_v4().to_uint()});
    });
  }
  forwarder_ = std::make_unique<DnsForwarder>(io_, upstreams);
  spdlog::info("DNS: {} upstream resolver(s) for outside names{}", upstreams.size(),
               upstreams.empty() ? " (outside names are refused)" : "");
  for (const auto& address : addresses) {
    try {
      dns_->listen(address);
    } catch (const std::exception& e) {
      if (!loopback_default) throw AgentError(e.what());
      spdlog::warn("DNS not on {} ({}); the mesh address and --dns-listen still work", address, e.what());
      continue;
    }
    spdlog::info("DNS on {} (UDP and TCP)", address);
  }
}

}  // namespace weft::agent
