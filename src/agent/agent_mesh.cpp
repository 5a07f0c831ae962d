// The agent's host side: the WireGuard mesh (device, host networking, peer reconcile) and the
// DNS server's listeners (--dns-listen and the machine's .1:53).
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

namespace weft::agent {

using json = nlohmann::json;

namespace {

std::string key_base64(const wg::Key& key) {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

}  // namespace

void Agent::start_mesh() {
  if (options_.mesh.backend == "none") return;
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

// The endpoint other machines point their WireGuard peer at: the advertised control IP with the
// WireGuard port. (NAT discovery adds observed endpoints later.)
void Agent::write_wireguard_endpoint() {
  if (!mesh_) return;
  auto hp = parse_host_port(advertise_);
  crdt::EndpointCandidatesValue v{{crdt::Endpoint{hp->ip.to_string(), options_.mesh.listen_port}}};
  auto value = crdt::encode_value(v);
  const crdt::Record* held =
      replica_->state().find(crdt::RecordKey{replica_->id(), crdt::Kind::endpoint_candidates, wg::kWireguardCandidatesName});
  if (held && !held->tombstone && held->value == value) return;
  publish_local({replica_->put(crdt::Kind::endpoint_candidates, wg::kWireguardCandidatesName, value, now_ms())});
}

// Machines whose records are served (DNS) and who are peers (WireGuard): alive or suspect, and
// this one. A member is out only once SWIM declares it dead or it left.
std::set<crdt::OwnerId> Agent::live_members() const {
  std::set<crdt::OwnerId> live;
  for (const auto& [id, m] : membership_->members())
    if (m.state == gossip::MemberState::alive || m.state == gossip::MemberState::suspect) live.insert(id);
  live.insert(replica_->id());
  return live;
}

void Agent::reconcile_mesh(uint64_t now) {
  if (!mesh_ || exiting_) return;
  bool synced = founder_ || synced_before_ || membership_->joined();
  auto subnet = claimer_->confirmed(*replica_, synced);
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
  std::array<uint64_t, 4> key{state.kind_version(crdt::Kind::machine), state.kind_version(crdt::Kind::subnet_claim),
                              state.kind_version(crdt::Kind::endpoint_candidates), member_changes_};
  bool changed = key != mesh_key_;
  if (!membership_->joined() || !mesh_->subnet()) {
    if (mesh_->subnet() && key != held_key_) ++mesh_held_;  // counted once per change of the view
    held_key_ = key;
    return;
  }
  if (!changed && now < next_mesh_check_) return;
  mesh_key_ = key;
  next_mesh_check_ = now + 10'000;  // drift repair: someone may edit the device by hand
  try {
    mesh_->reconcile(wg::wanted_peers(state, live_members(), replica_->id()), changed);
  } catch (const wg::DeviceError& e) {
    spdlog::error("WireGuard: {}", e.what());
    next_mesh_check_ = now + 2'000;
  }
}

std::string Agent::peers_json() {
  json out = json::array();
  if (!mesh_) return out.dump();
  wg::DeviceStatus status = mesh_->status();
  auto wanted = wg::wanted_peers(replica_->state(), live_members(), replica_->id());
  std::map<wg::Key, std::string> names;  // every machine's key, to name peers that are no longer wanted
  replica_->state().for_each_of_kind(crdt::Kind::machine, [&](const crdt::Record& r) {
    if (r.tombstone) return;
    if (auto m = crdt::decode_machine(r.value)) names.emplace(m->wireguard_key, m->name);
  });
  uint64_t now_s = now_ms() / 1000;
  for (const auto& p : status.peers) {
    json j{{"public_key", key_base64(p.public_key)},
           {"endpoint", p.endpoint.empty() ? json() : json(p.endpoint)},
           {"path", "direct"},
           {"allowed_ips", p.allowed_ips},
           {"rx_bytes", p.rx_bytes},
           {"tx_bytes", p.tx_bytes},
           {"keepalive", p.keepalive},
           {"latest_handshake_age_s", p.last_handshake_sec ? json(now_s > p.last_handshake_sec ? now_s - p.last_handshake_sec : 0) : json()}};
    auto w = wanted.find(p.public_key);
    auto n = names.find(p.public_key);
    j["machine"] = n != names.end() ? json(n->second) : json();
    j["id"] = w != wanted.end() ? json(to_hex(w->second.owner)) : json();
    j["wanted"] = w != wanted.end();
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
  publish_local(std::move(written));
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
