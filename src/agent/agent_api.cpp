// The agent's local API routes: status, members, services, leave, metrics.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

#include "agent/address.hpp"
#include "agent/agent.hpp"
#include "base/hex.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"

namespace weft::agent {

using json = nlohmann::json;
using gossip::MemberState;

namespace {

ApiResponse error(int status, const std::string& message) { return ApiResponse{status, "application/json", json{{"error", message}}.dump()}; }
ApiResponse ok(const json& body) { return ApiResponse{200, "application/json", body.dump()}; }

}  // namespace

std::optional<std::string> Agent::subnet_text(const crdt::OwnerId& owner) const {
  auto subnet = crdt::subnet_of(replica_->state(), owner);
  if (!subnet) return std::nullopt;
  return subnet->to_string();
}

std::string Agent::members_json() const {
  json out = json::array();
  std::vector<const gossip::Member*> sorted;  // by name, then id: the table itself is unordered
  for (const gossip::Member& m : membership_->members()) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](const gossip::Member* a, const gossip::Member* b) {
    return std::tie(a->name, a->id) < std::tie(b->name, b->id);
  });
  for (const gossip::Member* member : sorted) {
    const auto& m = *member;
    const auto& id = m.id;
    auto subnet = subnet_text(id);
    out.push_back({{"name", m.name},
                   {"id", to_hex(id)},
                   {"state", gossip::state_name(m.state)},
                   {"subnet", subnet ? json(*subnet) : json(nullptr)},
                   {"address", m.address},
                   {"incarnation", m.incarnation},
                   {"self", id == replica_->id()}});
  }
  return out.dump();
}

std::string Agent::status_json() const {
  json counts = {{"alive", 0}, {"suspect", 0}, {"dead", 0}, {"left", 0}};
  for (const gossip::Member& m : membership_->members()) counts[gossip::state_name(m.state)] = counts[gossip::state_name(m.state)].get<int>() + 1;
  auto subnet = crdt::subnet_of(replica_->state(), replica_->id());
  json mesh = nullptr;
  if (subnet) mesh = Ipv4{subnet->base.value + 1}.to_string();
  return json{{"name", cluster_.name},
              {"id", to_hex(replica_->id())},
              {"cluster", to_hex(cluster_.id)},
              {"network", cluster_.network.to_string()},
              {"subnet", subnet ? json(subnet->to_string()) : json(nullptr)},
              {"mesh_address", mesh},
              {"docker", docker_ ? docker_->status() : std::string("off")},
              {"reflexive_address", reflexive_ && reflexive_->reflexive() ? json(reflexive_->reflexive()->to_string()) : json()},
              {"nat_mapping", reflexive_ ? stun::mapping_name(reflexive_->mapping()) : "unknown"},
              {"relay_capable", relay_capable_},
              {"address", advertise_},
              {"incarnation", membership_->self().incarnation},
              {"joined", membership_->joined()},
              {"records", replica_->state().size()},
              {"members", counts}}
      .dump();
}

std::string Agent::metrics_text() const {
  std::string out;
  auto line = [&](const std::string& name, const std::string& labels, uint64_t v) {
    out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
  };
  out += "# HELP weft_members Members by state, as this machine sees them.\n# TYPE weft_members gauge\n";
  std::map<std::string, uint64_t> by_state{{"alive", 0}, {"suspect", 0}, {"dead", 0}, {"left", 0}};
  for (const gossip::Member& m : membership_->members()) ++by_state[gossip::state_name(m.state)];
  for (const auto& [state, n] : by_state) line("weft_members", "state=\"" + state + "\"", n);
  out += "# TYPE weft_frames_in_total counter\n";
  line("weft_frames_in_total", "", frames_in_);
  out += "# TYPE weft_frames_out_total counter\n";
  line("weft_frames_out_total", "", frames_out_);
  out += "# TYPE weft_bytes_in_total counter\n";
  line("weft_bytes_in_total", "", bytes_in_);
  out += "# TYPE weft_bytes_out_total counter\n";
  line("weft_bytes_out_total", "", bytes_out_);
  out += "# HELP weft_frames_dropped_total Control frames dropped, by reason.\n# TYPE weft_frames_dropped_total counter\n";
  for (size_t i = 0; i < gossip::kOpenErrorCount; ++i) {
    auto e = static_cast<gossip::OpenError>(i);
    line("weft_frames_dropped_total", std::string("reason=\"") + gossip::open_error_name(e) + "\"", sealer_->dropped(e));
  }
  line("weft_frames_dropped_total", "reason=\"undecodable\"", drops_.undecodable);
  line("weft_frames_dropped_total", "reason=\"not_control\"", drops_.not_control);
  line("weft_frames_dropped_total", "reason=\"stun\"", drops_.stun_dropped);
  line("weft_stun_answered_total", "", stun_answered_);
  line("weft_stun_rate_limited_total", "", stun_rate_limited_);
  line("weft_stun_responses_total", "", stun_responses_);
  const auto& rc = relay_table_->counters();
  line("weft_relay_pairs", "", relay_table_->pairs());
  line("weft_relay_forwarded_total", "", rc.forwarded);
  line("weft_relay_dropped_total", "reason=\"unknown_channel\"", rc.unknown_channel);
  line("weft_relay_dropped_total", "reason=\"wrong_source\"", rc.wrong_source);
  line("weft_relay_dropped_total", "reason=\"peer_unbound\"", rc.peer_unbound);
  line("weft_relay_dropped_total", "reason=\"rate_limited\"", rc.rate_limited);
  line("weft_relay_dropped_total", "reason=\"malformed\"", relay_malformed_);
  line("weft_relay_dropped_total", "reason=\"not_ours\"", relay_not_ours_);
  line("weft_relay_binds_total", "result=\"accepted\"", rc.binds);
  line("weft_relay_binds_total", "result=\"refused\"", rc.refused_binds + relay_refused_ + relay_refused_not_live_);
  line("weft_relay_bind_refusals_total", "reason=\"table_full\"", rc.refused_full);
  line("weft_relay_bind_refusals_total", "reason=\"member_quota\"", rc.refused_quota);
  line("weft_relay_bind_refusals_total", "reason=\"not_live\"", relay_refused_not_live_);
  line("weft_relayed_packets_total", "way=\"to_relay\"", relay_out_);
  line("weft_relayed_packets_total", "way=\"from_relay\"", relay_in_);
  line("weft_relay_send_errors_total", "", relay_send_errors_);
  const auto& sc = streams_->counters();
  line("weft_frames_dropped_total", "reason=\"oversized_stream\"", sc.oversized);
  line("weft_control_streams_open", "", streams_->open());
  line("weft_control_streams_total", "way=\"opened\"", sc.opened);
  line("weft_control_streams_total", "way=\"accepted\"", sc.accepted);
  line("weft_control_streams_reused_total", "", sc.reused);
  line("weft_control_streams_idle_closed_total", "", sc.idle_closed);
  line("weft_control_streams_refused_total", "reason=\"full\"", sc.refused);
  line("weft_control_streams_refused_total", "reason=\"per_source\"", sc.refused_source);
  line("weft_control_streams_closed_unproven_total", "reason=\"evicted\"", sc.evicted);
  line("weft_control_streams_closed_unproven_total", "reason=\"pre_auth_timeout\"", sc.pre_auth_timeouts);
  line("weft_control_streams_closed_unproven_total", "reason=\"pre_auth_budget\"", sc.pre_auth_budget);
  line("weft_control_streams_unproven_bytes", "", streams_->unproven_bytes());
  out += "# HELP weft_records_merged_total Records received, by merge result.\n# TYPE weft_records_merged_total counter\n";
  for (size_t i = 0; i < crdt::kMergeResultCount; ++i) {
    auto r = static_cast<crdt::MergeResult>(i);
    line("weft_records_merged_total", std::string("result=\"") + crdt::merge_result_name(r) + "\"", replica_->count(r));
  }
  const auto& c = membership_->counters();
  out += "# TYPE weft_probes_total counter\n";
  line("weft_probes_total", "", c.probes);
  line("weft_probe_failures_total", "", c.probe_failures);
  line("weft_refutes_total", "", c.refutes);
  out += "# HELP weft_stream_ping_rescues_total Probes the stream (TCP) ping answered first: datagrams lost on the way.\n";
  line("weft_stream_pings_total", "", c.stream_pings);
  line("weft_stream_ping_rescues_total", "", c.stream_rescues);
  line("weft_sync_checks_total", "", c.sync_checks);
  line("weft_syncs_skipped_total", "", c.syncs_skipped);
  out += "# HELP weft_probe_rtt_ms_avg Average probe round trip.\n# TYPE weft_probe_rtt_ms_avg gauge\n";
  line("weft_probe_rtt_ms_avg", "", c.rtt_count ? c.rtt_sum_ms / c.rtt_count : 0);
  out += "# TYPE weft_local_health gauge\n";
  line("weft_local_health", "", membership_->health());
  out += "# TYPE weft_records gauge\n";
  line("weft_records", "", replica_->state().size());
  line("weft_seed_connect_failures_total", "", seed_connect_failures_);
  line("weft_last_checks_total", "", c.last_checks);
  line("weft_last_checks_answered_total", "", c.last_checks_answered);
  if (dns_) {
    const auto& d = dns_->counters();
    out += "# HELP weft_dns_queries_total DNS queries received, by transport.\n# TYPE weft_dns_queries_total counter\n";
    line("weft_dns_queries_total", "transport=\"udp\"", d.udp_queries);
    line("weft_dns_queries_total", "transport=\"tcp\"", d.tcp_queries);
    out += "# TYPE weft_dns_answers_total counter\n";
    line("weft_dns_answers_total", "kind=\"cached\"", dns_cache_.hits());
    line("weft_dns_answers_total", "kind=\"nxdomain\"", dns_nxdomain_);
    line("weft_dns_answers_total", "kind=\"refused\"", dns_refused_);
    line("weft_dns_answers_total", "kind=\"formerr\"", dns_formerr_);
    const auto& f = forwarder_->counters();
    out += "# TYPE weft_dns_forwarded_total counter\n";
    line("weft_dns_forwarded_total", "result=\"answered\"", f.answered);
    line("weft_dns_forwarded_total", "result=\"servfail\"", f.servfail);
    line("weft_dns_forwarded_total", "result=\"timeout\"", f.timeouts);
    line("weft_dns_forwarded_total", "result=\"tcp_retry\"", f.tcp_retries);
    line("weft_dns_forwarded_total", "result=\"over_limit\"", f.over_limit);
    line("weft_dns_forwarded_total", "result=\"stray\"", f.stray);
    line("weft_dns_udp_oversized_total", "", d.udp_oversized);
    line("weft_dns_tcp_connections_total", "", d.tcp_connections);
    line("weft_dns_tcp_refused_total", "", d.tcp_refused);
  }
  if (docker_) {
    const auto& d = docker_->counters();
    line("weft_docker_connected", "", d.connected ? 1 : 0);
    line("weft_docker_connects_total", "", d.connects);
    line("weft_docker_events_total", "", d.events);
    line("weft_docker_lists_total", "", d.lists);
    line("weft_docker_errors_total", "", d.errors);
  }
  if (mesh_) {
    const auto& m = mesh_->counters();
    line("weft_wg_reconciles_total", "", m.reconciles);
    line("weft_wg_reconciles_held_total", "", mesh_held_);
    line("weft_wg_peer_updates_total", "", m.peer_updates);
    line("weft_wg_drift_repairs_total", "", m.drift_repairs);
    line("weft_wg_device_errors_total", "", m.device_errors);
    line("weft_wg_host_configured", "", mesh_->subnet() ? 1 : 0);
  }
  return out;
}

ApiResponse Agent::handle(const ApiRequest& req) {
  if (req.method == "GET" && req.path == "/v1/status") return ApiResponse{200, "application/json", status_json()};
  if (req.method == "GET" && req.path == "/v1/members") return ApiResponse{200, "application/json", members_json()};
  if (req.method == "GET" && req.path == "/metrics") return ApiResponse{200, "text/plain; version=0.0.4", metrics_text()};
  if (req.method == "GET" && req.path == "/v1/peers") {
    if (!mesh_) return error(409, "this agent runs without WireGuard (--wg-backend none): no peers");
    try {
      return ApiResponse{200, "application/json", peers_json()};
    } catch (const wg::DeviceError& e) {
      return error(503, e.what());
    }
  }
  if (req.path == "/v1/access" || req.path.rfind("/v1/access/", 0) == 0) return handle_access(req);
  if (req.method == "POST" && req.path == "/v1/leave") {
    cleanup_requested_ = req.query.count("cleanup") && req.query.at("cleanup") == "1";
    gossip::Effects fx;
    membership_->leave(now_ms(), fx);
    run_effects(fx);
    // Let the datagrams leave before the process does.
    auto t = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(300));
    t->async_wait([this, t](boost::system::error_code) { exit(0, "left the cluster"); });
    return ok({{"left", true}});
  }
  if (req.path == "/v1/services") {
    if (req.method == "GET") {
      json out = json::array();
      replica_->state().for_each([&](const crdt::Record& r) {
        if (r.key.kind != crdt::Kind::service_instance || r.tombstone) return;
        auto v = crdt::decode_service_instance(r.value);
        auto m = membership_->members().find(r.key.owner);
        out.push_back({{"name", v->service},
                       {"address", v->address},
                       {"port", v->port ? json(v->port) : json(nullptr)},
                       {"protocol", v->protocol},
                       {"healthy", v->healthy},
                       {"machine", !m ? to_hex(r.key.owner) : m->name},
                       {"machine_state", !m ? "unknown" : gossip::state_name(m->state)}});
      });
      return ok(out);
    }
    if (req.method == "POST") {
      json in = json::parse(req.body, nullptr, false);
      if (in.is_discarded() || !in.is_object()) return error(400, "body must be a JSON object");
      std::string name = in.value("name", ""), address = in.value("address", "");
      int port = in.value("port", 0);
      std::string protocol = in.value("protocol", port ? "tcp" : "");
      if (!crdt::valid_service_name(name)) return error(400, "service name must be 1-63 letters, digits, '-' or '_'");
      if (!Ipv4::parse(address)) return error(400, "service address must be an IPv4 address");
      if (port < 0 || port > 65535) return error(400, "port must be 1-65535");
      if (!protocol.empty() && protocol != "tcp" && protocol != "udp") return error(400, "protocol must be tcp or udp");
      std::string port_name = in.value("port_name", "");
      if (!port_name.empty() && (!crdt::valid_service_name(port_name) || !port))
        return error(400, "port_name needs a port and must be 1-63 letters, digits, '-' or '_'");
      crdt::ServiceInstanceValue v{name, address, static_cast<uint16_t>(port), protocol, port_name, true};
      std::string key = name + "/" + address + (port ? ":" + std::to_string(port) : "");
      replica_->put(crdt::Kind::service_instance, key, crdt::encode_value(v), now_ms());
      after_event();
      return ok({{"added", key}});
    }
    if (req.method == "DELETE") {
      auto name = req.query.count("name") ? req.query.at("name") : "";
      auto address = req.query.count("address") ? req.query.at("address") : "";
      std::vector<std::string> keys;
      replica_->state().for_owner(replica_->id(), [&](const crdt::Record& r) {
        if (r.key.kind != crdt::Kind::service_instance || r.tombstone) return;
        auto v = crdt::decode_service_instance(r.value);
        if (v && v->service == name && (address.empty() || v->address == address)) keys.push_back(r.key.name);
      });
      if (keys.empty()) return error(404, "no service " + name + (address.empty() ? "" : " at " + address) + " on this machine");
      for (const auto& k : keys) replica_->erase(crdt::Kind::service_instance, k, now_ms());

      after_event();
      return ok({{"removed", keys}});
    }
  }
  if (req.path == "/v1/keys") {
    auto& keyring = sealer_->keyring();
    if (req.method == "GET") {
      json out = json::array();
      for (size_t i = 0; i < keyring.keys().size(); ++i)
        out.push_back({{"id", to_hex(gossip::Keyring::id_of(keyring.keys()[i]))}, {"primary", i == 0}});
      return ok(out);
    }
    if (req.method == "POST") {
      json in = json::parse(req.body, nullptr, false);
      if (in.is_discarded() || !in.is_object()) return error(400, "body must be a JSON object");
      std::string op = in.value("op", "");
      auto bytes = from_hex(in.value("key", ""));
      if (!bytes || bytes->size() != 32) return error(400, "a cluster key is 64 hex digits (weft key generate)");
      gossip::ClusterKey key;
      std::copy(bytes->begin(), bytes->end(), key.begin());
      if (op == "install") {
        keyring.install(key);
      } else if (op == "use") {
        if (!keyring.make_primary(key)) return error(409, "install the key on every member first (weft key install)");
        cluster_.key = key;
      } else if (op == "remove") {
        if (!keyring.remove(key)) return error(409, "not installed, or the primary key (switch with weft key use first)");
      } else {
        return error(400, "op must be install, use or remove");
      }
      save_keyring(*store_, keyring);
      return ok({{"op", op}, {"id", to_hex(gossip::Keyring::id_of(key))}, {"keys", keyring.size()}});
    }
  }
  if (req.method == "POST" && req.path == "/v1/machines/rm") {
    json in = json::parse(req.body, nullptr, false);
    if (in.is_discarded() || !in.is_object()) return error(400, "body must be a JSON object");
    std::string name = in.value("name", "");
    bool force = in.value("force", false);
    std::vector<const gossip::Member*> found;
    for (const gossip::Member& m : membership_->members())
      if (m.name == name || to_hex(m.id) == name) found.push_back(&m);
    if (found.empty()) return error(404, "no machine named " + name);
    if (found.size() > 1) return error(409, "several machines are named " + name + ": give the id (weft members --json)");
    const gossip::Member& m = *found.front();
    if (m.id == replica_->id()) return error(409, "this is the local machine: use weft leave");
    bool live = m.state == MemberState::alive || m.state == MemberState::suspect;
    if (live && !force)
      return error(409, "machine " + m.name.str() + " is " + gossip::state_name(m.state) + "; pass --force to remove a live machine");
    replica_->put(crdt::Kind::machine_removal, crdt::machine_removal_name(m.id),
                  crdt::encode_value(crdt::MachineRemovalValue{m.id, m.name}), now_ms());
    std::string removed = m.name;

    after_event();
    return ok({{"removed", removed}});
  }
  return error(404, "no route " + req.method + " " + req.path);
}

}  // namespace weft::agent
