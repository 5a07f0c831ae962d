#include "agent/agent.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/address.hpp"
#include "base/hex.hpp"
#include "crdt/values.hpp"
#include "dns/respond.hpp"
#include "gossip/codec.hpp"
#include "stun/binding.hpp"
#include "wg/peer_plan.hpp"
#include "store/durable_replica.hpp"

namespace weft::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using gossip::MemberState;

namespace {

constexpr uint32_t kMaxStreamFrame = 64u << 20;
// The project version, from CMakeLists.txt's project() (the one place it is written).
constexpr const char* kVersion = WEFT_VERSION;

// The host name's first label: a machine name is one DNS label (<name>.m.internal).
std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "machine";
  std::string name = buf;
  return name.substr(0, name.find('.'));
}

// The local address the kernel would send from to reach `seed`: a connected UDP socket sends
// nothing, it only picks the route. Empty when there is no route.
std::string source_address_towards(asio::io_context& io, const std::string& seed) {
  auto to = parse_host_port(seed);
  if (!to) return "";
  boost::system::error_code ec;
  asio::ip::udp::socket probe(io);
  probe.connect(asio::ip::udp::endpoint(to->ip, to->port), ec);
  if (ec) return "";
  auto local = probe.local_endpoint(ec);
  if (ec || local.address().is_unspecified()) return "";
  return local.address().to_string();
}

}  // namespace

Agent::Agent(asio::io_context& io, AgentOptions options)
    : io_(io), options_(std::move(options)), udp_(io), timer_(io) {
  started_steady_ = std::chrono::steady_clock::now();
  started_wall_ms_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Agent::~Agent() {
  if (!mesh_ || !(cleanup_requested_ || options_.mesh.cleanup_on_exit)) return;
  try {
    mesh_->remove_all(store_->get_meta("host.ip_forward_before"));
    store_->put_meta("host.ip_forward_before", "");
    spdlog::info("removed the interface, bridge, routes and firewall rules this machine added");
  } catch (const std::exception& e) {
    spdlog::error("cleanup: {}", e.what());
  }
}

// Wall-clock milliseconds that never step back while the agent runs (HLC and timers alike).
uint64_t Agent::now_ms() const {
  return started_wall_ms_ + static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::steady_clock::now() - started_steady_)
                                                      .count());
}

void Agent::open_state() {
  try {
    store_ = store::RecordStore::open(options_.data_dir, /*exclusive=*/true);
  } catch (const store::StoreError& e) {
    throw AgentError(e.what());
  }
  auto stored = load_cluster_info(*store_);
  std::optional<JoinToken> token;
  if (!options_.token.empty()) {
    std::string why;
    token = JoinToken::decode(options_.token, &why);
    if (!token) throw AgentError("bad join token: " + why);
  }
  if (stored && token && stored->id != token->cluster_id)
    throw AgentError("data dir " + options_.data_dir.string() + " belongs to cluster " + to_hex(stored->id) +
                     ", the token is for cluster " + to_hex(token->cluster_id));
  if (!stored && !token)
    throw AgentError("data dir " + options_.data_dir.string() +
                     " holds no cluster: run `weft init` here, or pass --token from `weft token` of a member");
  if (!options_.name.empty() && !crdt::valid_machine_name(options_.name))
    throw AgentError("--name " + options_.name + " is not a machine name: 1-63 letters, digits or '-', one DNS label");
  if (!stored) {
    ClusterInfo info{token->key, token->cluster_id, token->network,
                     options_.name.empty() ? host_name() : options_.name};
    if (!crdt::valid_machine_name(info.name))
      throw AgentError("the host name " + info.name + " is not a machine name (one DNS label): pass --name");
    save_cluster_info(*store_, info);
    stored = info;
  } else if (!options_.name.empty() && options_.name != stored->name) {
    stored->name = options_.name;
    save_cluster_info(*store_, *stored);
  }
  cluster_ = *stored;
  // Seeds: the token's (remembered for restarts), --join, and every member this data dir has
  // heard of: a restarted machine rejoins through whoever is up.
  if (token) {
    std::string joined;
    for (const auto& s : token->seeds) joined += (joined.empty() ? "" : ",") + s;
    store_->put_meta("cluster.seeds", joined);
  }
  if (auto stored_seeds = store_->get_meta("cluster.seeds")) {
    size_t start = 0;
    while (start < stored_seeds->size()) {
      size_t comma = stored_seeds->find(',', start);
      seeds_.push_back(stored_seeds->substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  for (const auto& j : options_.join) seeds_.push_back(j);
  founder_ = store_->get_meta("cluster.founder").has_value();

  identity_ = std::make_unique<store::Identity>(store::load_or_create_identity(*store_));
  auto restored = store::restore_replica(*store_, *identity_, {}, now_ms());
  if (restored.refused) spdlog::warn("{} stored records failed to load (corrupt or invalid): skipped", restored.refused);
  replica_ = std::make_unique<crdt::Replica>(std::move(restored.replica));
  replica_->state().for_each([&](const crdt::Record& r) {
    if (r.key.kind != crdt::Kind::machine || r.tombstone || r.key.owner == replica_->id()) return;
    if (auto m = crdt::decode_machine(r.value)) {
      boost::system::error_code ec;
      auto ip = boost::asio::ip::make_address(m->control_address.ip, ec);
      if (!ec && m->control_address.port) seeds_.push_back(format_host_port(ip, m->control_address.port));
    }
  });
  std::sort(seeds_.begin(), seeds_.end());
  seeds_.erase(std::unique(seeds_.begin(), seeds_.end()), seeds_.end());
  synced_before_ = replica_->last_exchange_ms().has_value();
  persisted_exchange_ = replica_->last_exchange_ms();
  settler_.emplace(cluster_.network);
}

void Agent::start() {
  if (options_.mesh.backend != "none" && options_.mesh.backend != "userspace" && options_.mesh.backend != "kernel")
    throw AgentError("--wg-backend " + options_.mesh.backend + " is not one of kernel, userspace, none");
  open_state();
  auto bind = parse_host_port(options_.bind);
  if (!bind) throw AgentError("--bind " + options_.bind + " is not IP:PORT");
  std::string advertise = options_.advertise;
  // The founder's address as given to `weft init --advertise` (it is in every join token).
  if (advertise.empty()) advertise = store_->get_meta("machine.advertise").value_or("");
  // Bound to the wildcard: the address this machine reaches its first seed from.
  if (advertise.empty() && bind->ip.is_unspecified())
    for (const auto& seed : seeds_)
      if (auto ip = source_address_towards(io_, seed); !ip.empty()) {
        advertise = format_host_port(asio::ip::make_address(ip), bind->port);
        spdlog::info("advertising {} (the address that reaches seed {}; --advertise to choose)", advertise, seed);
        break;
      }
  if (advertise.empty()) {
    if (bind->ip.is_unspecified())
      throw AgentError("--advertise IP:PORT is needed when binding " + options_.bind + " with no seed to find a route to");
    advertise = format_host_port(bind->ip, bind->port);
  }
  if (!parse_host_port(advertise)) throw AgentError("--advertise " + advertise + " is not IP:PORT");
  advertise_ = advertise;
  for (const auto& server : options_.stun_servers)
    if (!parse_host_port(server)) throw AgentError("--stun-server " + server + " is not IP:PORT");
  if (!options_.mesh.advertise_wg.empty() && !parse_host_port(options_.mesh.advertise_wg))
    throw AgentError("--advertise-wg " + options_.mesh.advertise_wg + " is not IP:PORT");
  // Our own address among the seeds would only make us wait for ourselves.
  std::erase(seeds_, advertise_);

  boost::system::error_code ec;
  udp::endpoint udp_ep(bind->ip, bind->port);
  udp_.open(udp_ep.protocol());
  udp_.bind(udp_ep, ec);
  if (ec) throw AgentError("cannot bind UDP " + options_.bind + ": " + ec.message());
  udp_.non_blocking(true, ec);  // relayed packets are sent in place: a full buffer drops, never blocks
  streams_ = std::make_unique<ControlStreams>(
      io_, static_cast<uint32_t>(gossip::kSealOverhead), kMaxStreamFrame,
      [this](std::span<const uint8_t> frame, const std::string& from, const ControlStreams::Authenticated& authenticated) {
        on_frame(frame, from, authenticated);
        after_event();
      },
      [this](const std::string& address) {
        ++send_errors_;
        if (std::find(seeds_.begin(), seeds_.end(), address) != seeds_.end()) ++seed_connect_failures_;
      });
  try {
    streams_->listen(tcp::endpoint(bind->ip, bind->port));
  } catch (const std::exception& e) {
    throw AgentError("cannot bind TCP " + options_.bind + ": " + e.what());
  }
  start_mesh();
  start_dns();
  try {
    api_ = std::make_unique<LocalApi>(io_, options_.data_dir / "api.sock",
                                      [this](const ApiRequest& r) { return handle(r); });
  } catch (const std::exception& e) {
    throw AgentError(std::string("cannot open the local API socket: ") + e.what());
  }

  uint64_t incarnation = 0;
  if (auto stored = store_->get_meta("gossip.incarnation")) incarnation = std::stoull(*stored) + 1;
  store_->put_meta("gossip.incarnation", std::to_string(incarnation));

  uint64_t seed;
  randombytes_buf(&seed, sizeof seed);
  sealer_ = std::make_unique<gossip::FrameSealer>(load_keyring(*store_, cluster_), replica_->id(), seed);
  randombytes_buf(&seed, sizeof seed);
  gossip::GossipConfig config = options_.gossip;
  config.packet_budget = config.packet_budget > gossip::kSealOverhead ? config.packet_budget - gossip::kSealOverhead : 512;
  membership_ = std::make_unique<gossip::Membership>(replica_->id(), cluster_.name, advertise_, incarnation, config,
                                                     seed, *replica_);
  randombytes_buf(&seed, sizeof seed);
  reflexive_ = std::make_unique<stun::ReflexiveProbe>(stun::ReflexiveProbe::Config{}, seed);
  randombytes_buf(&seed, sizeof seed);
  paths::RelayTable::Config relay_config;
  relay_config.pair_pps = options_.relay_pair_pps;
  relay_config.total_pps = options_.relay_total_pps;
  relay_table_ = std::make_unique<paths::RelayTable>(relay_config, seed);
  write_machine_record();
  write_wireguard_candidates(now_ms());
  uint64_t now = now_ms();
  gossip::Effects fx;
  membership_->join(seeds_, now, fx);
  run_effects(fx);
  // Only a machine joining for the first time gives up: a restarted member keeps trying its
  // known peers (they may all be rebooting too) and keeps serving what it has.
  join_deadline_ = seeds_.empty() || synced_before_ || founder_ ? 0 : now + options_.join_timeout_ms;
  spdlog::info("weft agent {} ({}) on {}, cluster {}, {} seed(s)", cluster_.name, short_hex(replica_->id()),
               advertise_, to_hex(cluster_.id), seeds_.size());
  receive_datagram();
  after_event();
}

void Agent::write_machine_record() {
  crdt::MachineValue v{cluster_.name, identity_->wireguard_public, replica_->id(), {}, relay_capable_, kVersion};
  auto hp = parse_host_port(advertise_);
  v.control_address = crdt::Endpoint{hp->ip.to_string(), hp->port};
  auto value = crdt::encode_value(v);
  const crdt::Record* held = replica_->state().find(crdt::RecordKey{replica_->id(), crdt::Kind::machine, crdt::kMachineRecordName});
  if (held && !held->tombstone && held->value == value) return;
  replica_->put(crdt::Kind::machine, crdt::kMachineRecordName, value, now_ms());
}

void Agent::settle_subnet() {
  auto settled = settler_->tick(*replica_, synced(), now_ms());
  if (!settled) return;
  auto& outcome = *settled;
  if (outcome.status == crdt::SubnetClaimer::Status::exhausted)
    spdlog::error("no free /24 left in {}", cluster_.network.to_string());
  if (outcome.status == crdt::SubnetClaimer::Status::claimed)
    spdlog::info("claimed subnet {}", outcome.subnet->to_string());
}

// ---------------------------------------------------------------- control port

void Agent::receive_datagram() {
  udp_.async_receive_from(asio::buffer(datagram_), datagram_from_, [this](boost::system::error_code ec, size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec && n > 0) {
      bytes_in_ += n;
      uint8_t first = datagram_[0];
      if (first <= 3) {
        answer_stun(n);
      } else if (first == paths::kRelayDataType) {
        on_relay_datagram(n);
      } else if (first == gossip::kSealedFrameType) {
        auto from = format_host_port(datagram_from_.address(), datagram_from_.port());
        on_frame({datagram_.data(), n}, from, [&](const crdt::OwnerId& sender) { routes_.heard(sender, from, now_ms()); });
        after_event();
      } else {
        ++drops_.not_control;
      }
    }
    receive_datagram();
  });
}

// STUN on the control port (first byte 0-3, RFC 7983): Binding requests are answered with the
// address they came from; everything else STUN-shaped is dropped and counted.

void Agent::answer_stun(size_t n) {
  std::span<const uint8_t> bytes(datagram_.data(), n);
  stun::Address from = to_stun(datagram_from_.address(), datagram_from_.port());
  auto reply = stun::answer_binding(bytes, from, nullptr);
  if (!reply) {
    if (reflexive_->on_response(bytes, from)) ++stun_responses_;
    else ++drops_.stun_dropped;
    return;
  }
  // Anyone may ask (that is what STUN is for), but no source gets more than its share of
  // answers: the control port is not a reflector for traffic aimed at someone else.
  if (!stun_limit_.allow(from, now_ms())) {
    ++stun_rate_limited_;
    return;
  }
  ++stun_answered_;
  send_stun(datagram_from_, std::move(*reply));  // as it came (an IPv6 socket sees v4-mapped peers)
}

void Agent::send_stun(const asio::ip::udp::endpoint& to, std::vector<uint8_t> data) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(std::move(data));
  bytes_out_ += bytes->size();
  udp_.async_send_to(asio::buffer(*bytes), to, [this, bytes](boost::system::error_code ec, size_t) {
    if (ec) ++send_errors_;
  });
}

// Every minute, ask up to three servers (configured STUN servers first, then live members,
// distinct addresses first) what address our control port has from where they are; the answers
// say whether a NAT is in the way and how it maps. Retransmissions come from the probe's timer.
void Agent::probe_reflexive(uint64_t now) {
  if (!membership_->joined()) return;
  // A round ends when every request is answered or given up on (a member behind another NAT
  // may never answer): the next starts only after that, so that every round gets to finish.
  if (now >= next_reflexive_ && !reflexive_->pending()) {
    std::vector<stun::Address> servers, configured;
    for (const auto& server : options_.stun_servers) {
      auto hp = parse_host_port(server);
      configured.push_back(to_stun(hp->ip, hp->port));
    }
    for (const gossip::Member& m : membership_->members()) {
      if (m.state != gossip::MemberState::alive || m.id == replica_->id()) continue;
      auto targets = control_targets(m.id, m.address, now);
      if (auto hp = parse_host_port(targets.back())) servers.push_back(to_stun(hp->ip, hp->port));
    }
    // A different start each round, so that over time every member is asked.
    if (!servers.empty()) std::rotate(servers.begin(), servers.begin() + static_cast<long>((now / 1000) % servers.size()), servers.end());
    servers.insert(servers.begin(), configured.begin(), configured.end());  // configured servers first
    for (auto& s : reflexive_->start(servers, now)) send_stun(from_stun(s.to), std::move(s.bytes));
    // Until two answers agree or disagree (a first round may come before the members do), soon.
    bool settled = reflexive_->mapping() != stun::Mapping::unknown;
    next_reflexive_ = now + (settled ? 60'000 : 5'000);
  }
  if (reflexive_->next_wakeup() <= now)
    for (auto& s : reflexive_->on_timer(now)) send_stun(from_stun(s.to), std::move(s.bytes));
  // A round just finished: what it found goes into this machine's candidates.
  bool pending = reflexive_->pending();
  if (reflexive_pending_ && !pending) {
    write_control_candidates();
    write_wireguard_candidates(now);
    // Others reach this machine at the address it advertises (no NAT in front): it can relay.
    auto r = reflexive_->reflexive();
    bool capable = options_.relay != "off" && r && format_host_port(from_stun(*r).address(), r->port) == advertise_;
    if (capable != relay_capable_) {
      relay_capable_ = capable;
      spdlog::info("{}", capable ? "reachable at the advertised address: relaying for pairs that cannot reach each other"
                                 : "not relaying (behind NAT, or --relay off)");
      write_machine_record();
    }
  }
  reflexive_pending_ = pending;
}

// A sealed frame. `authenticated` learns its sender once it opened and decoded, before the
// membership acts on it (and answers).
void Agent::on_frame(std::span<const uint8_t> frame, const std::string& from,
                     const std::function<void(const crdt::OwnerId&)>& authenticated) {
  if (exiting_) return;
  auto opened = sealer_->open(frame);
  if (!opened) return;  // counted by the sealer, by reason
  auto message = gossip::decode_message(
      {reinterpret_cast<const uint8_t*>(opened->payload.data()), opened->payload.size()}, opened->sender);
  if (!message) {
    ++drops_.undecodable;
    return;
  }
  authenticated(opened->sender);
  if (const auto* bind = std::get_if<gossip::RelayBind>(&message->body)) return on_relay_bind(opened->sender, *bind, from);
  if (const auto* bound = std::get_if<gossip::RelayBound>(&message->body)) return on_relay_bound(opened->sender, *bound, from);
  ++frames_in_;
  gossip::Effects fx;
  membership_->on_message(from, *message, now_ms(), fx);
  run_effects(fx);
}

// What a core asked for: datagrams and streams to send, member changes to log.
void Agent::run_effects(gossip::Effects& fx) {
  for (auto& out : fx.out) send(out);
  if (!fx.events.empty()) ++member_changes_;
  for (const auto& e : fx.events) {
    auto it = membership_->members().find(e.id);
    if (it)
      spdlog::info("member {} ({}) {}", it->name.str(), short_hex(e.id), e.joined ? "joined" : gossip::state_name(e.state));
  }
}

// Datagrams for a member go where ControlRoutes says (one copy per target while no path is
// proven); streams go on the open connection with that member, else to its address.
void Agent::send(gossip::Outgoing& out) {
  bool stream = gossip::is_stream(out.message);
  auto frame = std::make_shared<std::string>(sealer_->seal(gossip::encode_message(out.message), now_ms()));
  ++frames_out_;
  if (stream) {
    bytes_out_ += frame->size();
    streams_->send(out.to_member, out.to, frame);
    return;
  }
  std::vector<std::string> targets{out.to};
  if (out.to_member) targets = control_targets(*out.to_member, out.to, now_ms());
  for (const auto& target : targets) {
    auto to = parse_host_port(target);
    if (!to) continue;
    bytes_out_ += frame->size();
    udp_.async_send_to(asio::buffer(*frame), udp::endpoint(to->ip, to->port),
                       [this, frame](boost::system::error_code ec, size_t) {
                         if (ec) ++send_errors_;
                       });
  }
}

// ---------------------------------------------------------------- time and persistence

void Agent::after_event() {
  if (exiting_) return;
  uint64_t now = now_ms();
  // Machines removed by anyone (machine rm) are forgotten and shut out of gossip.
  if (replica_->retired().size() != banned_) {
    for (const auto& id : replica_->retired()) membership_->ban(id);
    banned_ = replica_->retired().size();
  }
  if (replica_->removed_self()) {
    store::persist(*store_, *replica_);
    exit(3, "this machine was removed from the cluster (weft machine rm); run weft init or join with a new data dir");
    return;
  }
  settle_subnet();
  // Persist what changed (durable before the next message is handled).
  auto exchange = replica_->last_exchange_ms();
  if (replica_->has_changes() || exchange != persisted_exchange_) {
    store::persist(*store_, *replica_);
    persisted_exchange_ = exchange;
  }
  check_join(now);
  reconcile_mesh(now);
  probe_reflexive(now);
  if (now >= next_stream_sweep_) {
    streams_->sweep(30'000);
    relay_table_->expire(now);
    next_stream_sweep_ = now + 5'000;
  }
  arm_timer();
  // Every record this machine wrote while handling the event goes out by gossip, from here
  // alone: no write site pairs itself with dissemination.
  membership_->publish(replica_->take_written());
}

// Where a member's datagrams go (ControlRoutes); its candidates record is read only when no
// recent datagram from it says where it is (the common case reads nothing).
std::vector<std::string> Agent::control_targets(const crdt::OwnerId& member, const std::string& address, uint64_t now) const {
  if (auto seen = routes_.observed(member, now)) return {*seen};
  return routes_.targets(member, address, control_candidates(member), now);
}

// A member's published control candidates, as "ip:port".
std::vector<std::string> Agent::control_candidates(const crdt::OwnerId& member) const {
  std::vector<std::string> out;
  const auto* r = replica_->state().find(crdt::RecordKey{member, crdt::Kind::endpoint_candidates, paths::kControlCandidatesName});
  if (!r || r->tombstone) return out;
  if (auto v = crdt::decode_endpoint_candidates(r->value))
    for (const auto& c : v->candidates) out.push_back(wg::format_endpoint(c.ip, c.port));
  return out;
}

// Behind a NAT that maps endpoint-independently (or not known yet to map otherwise), the
// reflexive control address is where other members can reach this one: published, so that
// both sides of a pair of NATs send to each other and open their mappings.
void Agent::write_control_candidates() {
  crdt::EndpointCandidatesValue v;
  auto reflexive = reflexive_->reflexive();
  if (reflexive && reflexive_->mapping() != stun::Mapping::address_dependent) {
    auto ep = from_stun(*reflexive);
    std::string text = format_host_port(ep.address(), ep.port());
    if (text != advertise_) v.candidates.push_back(crdt::Endpoint{ep.address().to_string(), ep.port()});
  }
  const auto* held =
      replica_->state().find(crdt::RecordKey{replica_->id(), crdt::Kind::endpoint_candidates, paths::kControlCandidatesName});
  if (!held && v.candidates.empty()) return;
  auto value = crdt::encode_value(v);
  if (held && !held->tombstone && held->value == value) return;
  replica_->put(crdt::Kind::endpoint_candidates, paths::kControlCandidatesName, value, now_ms());
}

void Agent::check_join(uint64_t now) {
  if (join_deadline_ == 0 || membership_->joined()) return;
  if (now < join_deadline_) return;
  if (seed_connect_failures_ > 0)
    exit(2, "could not join: no seed reachable (" + std::to_string(seed_connect_failures_) +
                " connection attempts to the seed address(es) failed)");
  else
    exit(2, "could not join: the seed(s) did not answer; is the cluster key right? (a token from another "
            "cluster, or a seed that is not a weft agent)");
}

void Agent::arm_timer() {
  uint64_t now = now_ms();
  uint64_t next = membership_->next_wakeup();
  if (join_deadline_ && !membership_->joined()) next = std::min(next, join_deadline_);
  next = std::min({next, settler_->next_at(), next_stream_sweep_});
  if (membership_->joined()) next = std::min({next, next_reflexive_, reflexive_->next_wakeup()});
  if (mesh_) {
    // Drift repair once peers are managed; a retry of host networking after an error.
    if (membership_->joined() && mesh_->subnet() && next_mesh_check_ > now) next = std::min(next, next_mesh_check_);
    if (next_host_try_ > now) next = std::min(next, next_host_try_);
    next = std::min(next, next_access_expiry_);  // a session ends on time
  }
  auto delay = std::chrono::milliseconds(next > now ? next - now : 0);
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || exiting_) return;
    on_timer();
  });
}

void Agent::on_timer() {
  gossip::Effects fx;
  uint64_t now = now_ms();
  if (membership_->next_wakeup() <= now) membership_->tick(now, fx);
  run_effects(fx);
  after_event();
}

void Agent::exit(int code, const std::string& why) {
  if (exiting_) return;
  exiting_ = true;
  timer_.cancel();
  if (code == 0) spdlog::info("{}", why);
  else spdlog::error("{}", why);
  if (on_exit) on_exit(code, why);
}

}  // namespace weft::agent

namespace weft::agent {


// The zone view, rebuilt when a record it reads or a member's liveness changed since the last
// query (so a change shows up in the very next answer).
const dns::ZoneView& Agent::dns_view() {
  const auto& state = replica_->state();
  std::array<uint64_t, 4> key{state.kind_version(crdt::Kind::machine), state.kind_version(crdt::Kind::service_instance),
                              state.kind_version(crdt::Kind::subnet_claim), member_changes_};
  if (!dns_view_ || key != dns_view_key_) {
    dns_view_ = dns::build_view(state, live_members(), replica_->id(), cluster_.network);
    dns_view_key_ = key;
    dns_cache_.clear();
  }
  return *dns_view_;
}

void Agent::answer_dns(std::span<const uint8_t> bytes, bool tcp, const boost::asio::ip::address& client,
                       DnsServer::Reply reply) {
  const dns::ZoneView& view = dns_view();  // first: a rebuilt view empties the cache
  std::vector<uint8_t> cached;
  if (dns_cache_.lookup(bytes, tcp, *dns_rng_, cached)) return reply(std::move(cached));
  // Outside names go to the host's resolvers, for this machine and the mesh only: whatever
  // address --dns-listen names, this is never an open resolver.
  bool may_forward = !forwarder_->empty() && DnsForwarder::may_serve(client, cluster_.network);
  dns::Reply r = dns::respond(bytes, tcp, view, *dns_rng_, may_forward);
  switch (r.outcome) {
    case dns::Reply::Outcome::formerr: ++dns_formerr_; break;
    case dns::Reply::Outcome::nxdomain: ++dns_nxdomain_; break;
    case dns::Reply::Outcome::refused: ++dns_refused_; break;
    default: break;
  }
  if (r.action == dns::Reply::Action::forward) return forwarder_->forward(bytes, tcp, std::move(reply));
  // Not a query (a response, or too short for a header): dropped; over TCP the connection is
  // closed too, so a message we will never answer cannot hold one of the bounded slots.
  if (r.action == dns::Reply::Action::ignore) {
    if (tcp) reply({});
    return;
  }
  if (r.cacheable) dns_cache_.store(bytes, tcp, r.response, r.bytes);
  reply(std::move(r.bytes));
}

}  // namespace weft::agent
