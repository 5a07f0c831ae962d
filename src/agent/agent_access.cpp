// Access sessions on the agent (wg/access_plan.hpp holds the pure parts): the /v1/access API
// (grant, list, revoke), the sessions' WireGuard peers and firewall rules, expiry on time (also
// across restarts: an expired session is never put back), and the audit log.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/agent.hpp"
#include "base/hex.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "access/plan.hpp"
#include "access/wire.hpp"
#include "wg/key_text.hpp"

namespace weft::agent {

using json = nlohmann::json;

namespace {

ApiResponse error(int status, const std::string& message) { return ApiResponse{status, "application/json", json{{"error", message}}.dump()}; }

// The machine's IPv4 routes (/proc/net/route), but those through `except` (our own interface).
std::vector<Ipv4Net> local_routes(const std::string& except) {
  std::vector<Ipv4Net> out;
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dst, gw, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dst >> gw >> flags >> refcnt >> use >> metric >> mask) || iface == except) continue;
    // Hexadecimal in host byte order of the network-order bytes.
    uint32_t d = 0, m = 0;
    if (std::sscanf(dst.c_str(), "%x", &d) != 1 || std::sscanf(mask.c_str(), "%x", &m) != 1) continue;
    uint32_t dv = ntohl(d), mv = ntohl(m);
    out.push_back(Ipv4Net{Ipv4{dv & mv}, static_cast<uint8_t>(__builtin_popcount(mv))});
  }
  return out;
}

std::string iso_time(uint64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  char when[32] = "?";
  if (std::tm tm{}; gmtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return when;
}

}  // namespace

// Decides whether this machine grants sessions: the range must have the cluster network's size
// and overlap neither it nor a route of this machine. Otherwise sessions are off, with the reason
// (grant answers it); the agent runs on.
void Agent::check_access_range() {
  if (options_.access_range == "off") {
    access_off_ = "access sessions are off on this machine (--access-range off)";
    return;
  }
  auto range = Ipv4Net::parse(options_.access_range);
  if (!range) throw AgentError("--access-range " + options_.access_range + " is not an IPv4 prefix (or off)");
  std::string why = access::check_access_range(*range, cluster_.network, local_routes(options_.mesh.interface_name));
  if (!why.empty()) {
    access_off_ = why + "; access sessions are off (choose another --access-range)";
    spdlog::error("{}", access_off_);
    return;
  }
  options_.mesh.access_range = *range;
  // The audit log tells which sessions already had their first handshake (logged once).
  std::ifstream in(options_.data_dir / "access-audit.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "first_handshake" && j.contains("time_ms") && j["time_ms"].is_number_unsigned())
      first_handshakes_[j.value("session", "")] = j["time_ms"].get<uint64_t>();
  }
}

// One JSON line per event, appended (O_APPEND, 0600) and synced: grant, first_handshake, bytes,
// revoke, expire.
void Agent::audit(json event) {
  uint64_t now = now_ms();
  event["time"] = iso_time(now);
  event["time_ms"] = now;
  std::string line = event.dump() + "\n";
  auto path = options_.data_dir / "access-audit.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fdatasync(fd) != 0)
    spdlog::error("access audit log {}: {}", path.string(), std::strerror(errno));
  if (fd >= 0) ::close(fd);
}

std::vector<access::AccessSession> Agent::own_sessions() const { return access::sessions_of(replica_->state(), replica_->id()); }

// Tombstones for sessions whose time is up (audited with how late the removal came), and the
// next deadline for the timer. Runs at every deadline and after a restart.
void Agent::expire_sessions(uint64_t now) {
  next_access_expiry_ = UINT64_MAX;
  if (!options_.mesh.access_range) return;
  auto sessions = own_sessions();
  for (const auto& s : sessions) {
    if (s.value.expires_ms > now) continue;
    end_session(s, {{"event", "expire"}, {"expires_ms", s.value.expires_ms}, {"late_ms", now - s.value.expires_ms}}, now);
  }

  next_access_expiry_ = access::next_expiry(sessions, now).value_or(UINT64_MAX);
}

// Revoke and expiry alike: the record's tombstone (gossiped from the replica's outbox), the audit line with
// the final byte counts, and what we remembered of the session forgotten.
std::optional<crdt::Record> Agent::end_session(const access::AccessSession& s, json event, uint64_t now) {
  auto r = replica_->erase(crdt::Kind::access_session, s.id, now);
  auto bytes = session_seen_[s.id];
  std::string what = event["event"].get<std::string>();
  event.update(json{{"session", s.id}, {"label", s.value.label}, {"address", s.value.address}, {"rx_bytes", bytes.first},
                    {"tx_bytes", bytes.second}});
  audit(std::move(event));
  spdlog::info("access session {} ({}): {}", s.id, s.value.label, what);
  session_bytes_.erase(s.id);
  session_seen_.erase(s.id);
  first_handshakes_.erase(s.id);
  return r;
}

// The access chain's rules for the live sessions (service targets resolved anew).
void Agent::apply_access_rules(uint64_t now) {
  if (!options_.mesh.access_range || !mesh_->subnet()) return;
  const auto& state = replica_->state();
  std::array<uint64_t, 3> key{state.kind_version(crdt::Kind::access_session), state.kind_version(crdt::Kind::service_instance),
                              next_access_expiry_};
  if (key == access_rules_key_) return;
  try {
    mesh_->set_access_rules(access::access_rules(state, access::live_sessions(own_sessions(), now), *mesh_->subnet()));
    access_rules_key_ = key;
  } catch (const wg::DeviceError& e) {
    spdlog::error("access rules: {}", e.what());
  }
}

// What the device says about the sessions' peers: the first handshake and the bytes (every
// minute when they changed) go to the audit log.
void Agent::audit_sessions(const wg::PeerSet& wanted, const wg::DeviceStatus& status, uint64_t now) {
  bool bytes_due = now >= next_bytes_audit_;
  if (bytes_due) next_bytes_audit_ = now + 60'000;
  for (const auto& p : status.peers) {
    auto w = wanted.find(p.public_key);
    if (w == wanted.end() || !w->second.access) continue;
    std::string id = w->second.name.substr(std::string("access ").size());
    if (p.last_handshake_sec && !first_handshakes_.contains(id)) {
      first_handshakes_[id] = now;
      audit({{"event", "first_handshake"}, {"session", id}, {"endpoint", p.endpoint}});
    }
    auto& last = session_bytes_[id];
    std::pair<uint64_t, uint64_t> now_bytes{p.rx_bytes, p.tx_bytes};
    if (bytes_due && now_bytes != last) audit({{"event", "bytes"}, {"session", id}, {"rx_bytes", p.rx_bytes}, {"tx_bytes", p.tx_bytes}});
    if (bytes_due || now_bytes.first < last.first) last = now_bytes;
    session_seen_[id] = now_bytes;
  }
}

// Before this run's first sync: sessions that ended while the agent was down leave the device.
void Agent::prune_sessions(uint64_t now) {
  const auto& state = replica_->state();
  uint64_t version = state.kind_version(crdt::Kind::access_session);
  if (!options_.mesh.access_range || version == pruned_version_) return;
  std::set<wg::Key> live;
  for (const auto& s : access::live_sessions(own_sessions(), now)) live.insert(s.value.client_key);
  try {
    if (size_t n = mesh_->prune_access_peers(live)) spdlog::info("removed {} ended access session peer(s)", n);
    pruned_version_ = version;
  } catch (const wg::DeviceError& e) {
    spdlog::error("access sessions: {}", e.what());
  }
}

ApiResponse Agent::handle_access(const ApiRequest& req) {
  uint64_t now = now_ms();
  if (req.method == "GET" && req.path == "/v1/access") {
    std::map<wg::Key, wg::PeerStatus> held;
    if (mesh_) {
      try {
        for (auto& p : mesh_->status().peers) held.emplace(p.public_key, p);
      } catch (const wg::DeviceError&) {
      }
    }
    json out = json::array();
    for (const auto& s : own_sessions()) {
      json j{{"id", s.id},
             {"label", s.value.label},
             {"address", s.value.address},
             {"client_key", wg::key_to_base64(s.value.client_key)},
             {"targets", s.value.targets},
             {"granted_ms", s.value.granted_ms},
             {"expires_ms", s.value.expires_ms},
             {"expires", iso_time(s.value.expires_ms)},
             {"live", s.value.expires_ms > now},
             {"first_handshake", first_handshakes_.contains(s.id) ? json(iso_time(first_handshakes_.at(s.id))) : json()},
             {"latest_handshake_age_s", json()},
             {"rx_bytes", 0},
             {"tx_bytes", 0}};
      if (auto it = held.find(s.value.client_key); it != held.end()) {
        const auto& p = it->second;
        if (p.last_handshake_sec) j["latest_handshake_age_s"] = now / 1000 > p.last_handshake_sec ? now / 1000 - p.last_handshake_sec : 0;
        j["rx_bytes"] = p.rx_bytes;
        j["tx_bytes"] = p.tx_bytes;
        j["endpoint"] = p.endpoint;
      }
      out.push_back(std::move(j));
    }
    return ApiResponse{200, "application/json", out.dump()};
  }
  if (req.method == "DELETE" && req.path.rfind("/v1/access/", 0) == 0) {
    std::string id = req.path.substr(std::string("/v1/access/").size());
    for (const auto& s : own_sessions()) {
      if (s.id != id) continue;
      end_session(s, {{"event", "revoke"}}, now);
      after_event();  // the peer leaves the device now, not at the next check
      return ApiResponse{200, "application/json", json{{"revoked", s.id}}.dump()};
    }
    return error(404, "no access session " + id + " on this machine (weft access ls)");
  }
  if (req.method != "POST" || req.path != "/v1/access") return error(404, "no route " + req.method + " " + req.path);

  // Grant.
  if (!mesh_) return error(409, "this agent runs without WireGuard (--wg-backend none): no access sessions");
  if (!options_.mesh.access_range) return error(409, access_off_);
  if (!mesh_->subnet() || !membership_->joined()) return error(503, "this machine has no /24 yet (joining); try again shortly");
  std::string why;
  auto request = access::parse_grant_request(req.body, &why);
  if (!request) return error(400, why);
  const auto& targets = request->targets;
  const auto& key = request->client_key;
  const auto& label = request->label;
  const auto& range = *options_.mesh.access_range;
  const auto& state = replica_->state();
  for (const auto& t : targets) {
    if (auto bad = access::check_target(t, range); !bad.empty()) return error(400, bad);
    if (crdt::valid_service_name(t) && access::resolve_targets(state, {t}, *mesh_->subnet()).empty())
      return error(404, "no service " + t + " in the cluster (weft service ls)");
  }
  // The range may have become a local route since the agent started.
  if (auto bad = access::check_access_range(range, cluster_.network, local_routes(options_.mesh.interface_name)); !bad.empty())
    return error(409, bad);
  crdt::AccessSessionValue v;
  v.client_key = key;
  auto sessions = own_sessions();
  for (const auto& s : access::live_sessions(sessions, now))
    if (s.value.client_key == key) return error(409, "that public key already holds session " + s.id);
  bool machine_key = false;
  state.for_each_of_kind(crdt::Kind::machine, [&](const crdt::Record& r) {
    if (auto m = r.tombstone ? std::nullopt : crdt::decode_machine(r.value); m && m->wireguard_key == key) machine_key = true;
  });
  if (machine_key) return error(409, "that public key belongs to a machine of the cluster");
  auto block = wg::access_block(range, cluster_.network, *mesh_->subnet());
  auto address = access::allocate_access_address(block, sessions, now);
  if (!address) return error(409, "the access block " + block.to_string() + " of this machine is full (253 live sessions)");
  std::string endpoint = request->endpoint;
  if (endpoint.empty()) {
    auto own = wg::wireguard_candidates(state, replica_->id());
    if (own.empty()) return error(503, "this machine published no WireGuard endpoint yet; pass --endpoint IP:PORT");
    endpoint = wg::format_endpoint(own.front().ip, own.front().port);
  }
  std::array<uint8_t, 8> raw;
  randombytes_buf(raw.data(), raw.size());
  std::string id = to_hex(raw);
  v.label = label;
  v.address = address->to_string() + "/32";
  v.targets = targets;
  v.granted_ms = now;
  v.expires_ms = now + request->ttl_ms;
  auto r = replica_->put(crdt::Kind::access_session, id, crdt::encode_value(v), now);
  audit({{"event", "grant"}, {"session", id}, {"label", label}, {"address", v.address}, {"client_key", wg::key_to_base64(key)},
         {"targets", targets}, {"expires_ms", v.expires_ms}, {"expires", iso_time(v.expires_ms)}});
  spdlog::info("access session {} ({}) granted: {} until {}", id, label, v.address, iso_time(v.expires_ms));
  after_event();  // persisted and on the device before the client gets its config
  auto resolved = access::resolve_targets(replica_->state(), targets, *mesh_->subnet());
  return ApiResponse{200, "application/json",
                     json{{"id", id},
                          {"label", label},
                          {"address", v.address},
                          {"server_key", wg::key_to_base64(identity_->wireguard_public)},
                          {"endpoint", endpoint},
                          {"allowed_ips", access::client_allowed_ips(resolved)},
                          {"expires_ms", v.expires_ms}}
                         .dump()};
}

}  // namespace weft::agent
