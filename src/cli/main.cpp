// weft: the command line. `weft init` and `weft token` read the data dir directly; `weft agent`
// runs the agent; every other command is a client of the running agent's local API.
#include <spdlog/spdlog.h>

#include <utility>  // before Asio (Boost 1.74)

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "crdt/values.hpp"
#include "agent/address.hpp"
#include "agent/agent.hpp"
#include "docker/engine_client.hpp"
#include "agent/cluster_info.hpp"
#include "agent/local_api.hpp"
#include "base/hex.hpp"
#include "cli/access_client.hpp"
#include "cli/config_layers.hpp"
#include "wg/access_plan.hpp"
#include "wg/access_wire.hpp"
#include "crdt/subnet.hpp"
#include "store/durable_replica.hpp"

#include <sodium.h>

using namespace weft;
using json = nlohmann::json;

namespace {

struct Fail : std::runtime_error {
  int code;
  Fail(const std::string& m, int c = 1) : std::runtime_error(m), code(c) {}
};

json api(const std::string& data_dir, const std::string& method, const std::string& target, const std::string& body = "") {
  auto res = agent::call_local_api(std::filesystem::path(data_dir) / "api.sock", method, target, body);
  json out = json::parse(res.body, nullptr, false);
  if (res.status != 200) throw Fail(out.is_object() && out.contains("error") ? out["error"].get<std::string>() : res.body);
  return out;
}

std::string token_for(store::RecordStore& store, const agent::ClusterInfo& info, const std::vector<std::string>& extra) {
  agent::JoinToken t{info.key, info.id, info.network, {}};
  if (auto a = store.get_meta("machine.advertise")) t.seeds.push_back(*a);
  for (const auto& s : extra) t.seeds.push_back(s);
  return t.encode();
}

int cmd_init(const std::string& data_dir, const std::string& name, const std::string& network, const std::string& advertise) {
  auto net = Ipv4Net::parse(network);
  if (!net || net->prefix > 24) throw Fail("--network " + network + " is not an IPv4 prefix of /24 or shorter");
  if (!advertise.empty() && !agent::parse_host_port(advertise)) throw Fail("--advertise " + advertise + " is not IP:PORT");
  auto store = store::RecordStore::open(data_dir, true);
  if (auto existing = agent::load_cluster_info(*store))
    throw Fail("data dir " + data_dir + " already holds cluster " + to_hex(existing->id) + "; use `weft token` to join others");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string machine = name.empty() ? std::string(host).substr(0, std::string(host).find('.')) : name;
  if (!crdt::valid_machine_name(machine))
    throw Fail((name.empty() ? "the host name " : "--name ") + machine +
               " is not a machine name: 1-63 letters, digits or '-', one DNS label (pass --name)");
  auto info = agent::new_cluster(*net, machine);
  agent::save_cluster_info(*store, info);
  std::vector<std::pair<std::string, std::string>> meta{{"cluster.founder", "1"}};
  if (!advertise.empty()) meta.emplace_back("machine.advertise", advertise);
  store->apply({}, meta);
  auto identity = store::load_or_create_identity(*store);
  auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  auto restored = store::restore_replica(*store, identity, {}, now);
  crdt::SubnetClaimer claimer(*net);
  auto outcome = claimer.settle(restored.replica, now);
  store::persist(*store, restored.replica);
  std::cout << "initialised cluster " << to_hex(info.id) << " in " << data_dir << "\n"
            << "machine " << info.name << " (" << to_hex(std::span(identity.signing.public_key().data(), 8)) << "), subnet "
            << (outcome.subnet ? outcome.subnet->to_string() : "-") << "\n";
  if (advertise.empty()) std::cout << "no --advertise given: joiners must pass --join IP:PORT of this machine\n";
  std::cout << "join token (a secret: it holds the cluster key):\n" << token_for(*store, info, {}) << "\n";
  return 0;
}

int cmd_token(const std::string& data_dir, const std::vector<std::string>& seeds) {
  auto store = store::RecordStore::open(data_dir, false);
  auto info = agent::load_cluster_info(*store);
  if (!info) throw Fail("data dir " + data_dir + " holds no cluster");
  std::cout << token_for(*store, *info, seeds) << "\n";
  return 0;
}

int cmd_agent(agent::AgentOptions options) {
  boost::asio::io_context io;
  int code = 0;
  std::string why;
  agent::Agent a(io, std::move(options));
  a.on_exit = [&](int c, const std::string& w) {
    code = c;
    why = w;
    io.stop();
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) io.stop();
  });
  try {
    a.start();
  } catch (const agent::AgentError& e) {
    throw Fail(e.what(), 2);
  }
  io.run();
  if (code != 0) throw Fail(why, code);
  return 0;
}

void print_members(const json& members) {
  std::printf("%-20s %-8s %-18s %-22s %s\n", "NAME", "STATE", "SUBNET", "ADDRESS", "INCARNATION");
  for (const auto& m : members)
    std::printf("%-20s %-8s %-18s %-22s %llu\n", m["name"].get<std::string>().c_str(), m["state"].get<std::string>().c_str(),
                m["subnet"].is_null() ? "-" : m["subnet"].get<std::string>().c_str(), m["address"].get<std::string>().c_str(),
                static_cast<unsigned long long>(m["incarnation"].get<uint64_t>()));
}

void print_peers(const json& peers) {
  std::printf("%-16s %-22s %-14s %-10s %12s %12s  %s\n", "MACHINE", "ENDPOINT", "PATH", "HANDSHAKE", "RX", "TX", "WHY");
  for (const auto& p : peers) {
    std::string hs = p["latest_handshake_age_s"].is_null() ? "never" : std::to_string(p["latest_handshake_age_s"].get<uint64_t>()) + "s ago";
    std::string path = p["path"].get<std::string>();
    if (p.contains("relay") && p["relay"].is_string()) path += " via " + p["relay"].get<std::string>();
    std::string why = p["reason"].is_string() ? p["reason"].get<std::string>() : "";
    if (!p["wanted"].get<bool>()) why = "not wanted: removing";
    std::printf("%-16s %-22s %-14s %-10s %12llu %12llu  %s\n", p["machine"].is_null() ? "?" : p["machine"].get<std::string>().c_str(),
                p["endpoint"].is_null() ? "-" : p["endpoint"].get<std::string>().c_str(), path.c_str(), hs.c_str(),
                static_cast<unsigned long long>(p["rx_bytes"].get<uint64_t>()),
                static_cast<unsigned long long>(p["tx_bytes"].get<uint64_t>()), why.c_str());
  }
}

struct GrantArgs {
  std::string ttl = "2h", label, pubkey, out, endpoint;
  std::vector<std::string> to;
  bool qr = false;
};

int cmd_access_grant(const std::string& data_dir, const GrantArgs& g) {
  std::string why;
  if (!wg::parse_ttl(g.ttl, &why)) throw Fail(why);  // before a key pair is made for nothing
  if (!g.out.empty() && std::filesystem::exists(g.out)) throw Fail(g.out + " exists (not overwritten)");
  cli::ClientKeys keys;
  if (g.pubkey.empty()) keys = cli::new_client_keys();
  json body{{"ttl", g.ttl}, {"label", g.label}, {"pubkey", g.pubkey.empty() ? keys.public_key : g.pubkey}, {"to", g.to}};
  if (!g.endpoint.empty()) body["endpoint"] = g.endpoint;
  auto grant = wg::parse_grant(api(data_dir, "POST", "/v1/access", body.dump()).dump(), &why);
  if (!grant) throw Fail(why + " (no config written)");
  wg::ClientConfig c;
  c.private_key = keys.private_key;  // empty with --pubkey: the client has its own
  c.address = grant->address;
  c.server_key = grant->server_key;
  c.endpoint = grant->endpoint;
  c.allowed_ips = grant->allowed_ips;
  c.label = grant->label;
  c.expires_ms = grant->expires_ms;
  std::string conf = wg::render_wg_quick(c);
  std::cerr << "access session " << grant->id << ": " << c.address << ", until " << grant->expires_ms / 1000
            << " (unix s); revoke with: weft access revoke " << grant->id << "\n";
  if (!g.out.empty()) {
    cli::write_secret_file(g.out, conf);
    std::cerr << "config written to " << g.out << " (0600)\n";
  } else {
    std::cout << conf;
  }
  if (g.qr) std::cout << cli::terminal_qr(conf);
  return 0;
}

void print_access(const json& sessions) {
  std::printf("%-16s %-16s %-16s %-20s %-20s %-10s %12s %12s\n", "ID", "LABEL", "ADDRESS", "EXPIRES", "FIRST HANDSHAKE",
              "LATEST", "RX", "TX");
  for (const auto& s : sessions) {
    std::string first = s["first_handshake"].is_null() ? "never" : s["first_handshake"].get<std::string>();
    std::string hs = s["latest_handshake_age_s"].is_null() ? "-" : std::to_string(s["latest_handshake_age_s"].get<uint64_t>()) + "s ago";
    std::string expires = s["live"].get<bool>() ? s["expires"].get<std::string>() : "expired";
    std::printf("%-16s %-16s %-16s %-20s %-20s %-10s %12llu %12llu\n", s["id"].get<std::string>().c_str(),
                s["label"].get<std::string>().empty() ? "-" : s["label"].get<std::string>().c_str(),
                s["address"].get<std::string>().c_str(), expires.c_str(), first.c_str(), hs.c_str(),
                static_cast<unsigned long long>(s["rx_bytes"].get<uint64_t>()),
                static_cast<unsigned long long>(s["tx_bytes"].get<uint64_t>()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft: a peer-to-peer WireGuard mesh agent"};
  app.require_subcommand(1);
  std::string data_dir = "/var/lib/weft", config;
  bool as_json = false;
  auto common = [&](CLI::App* sub, bool json_flag) {
    sub->add_option("--data-dir", data_dir, "data directory")->capture_default_str();
    sub->add_option("--config", config, "TOML config file");
    if (json_flag) sub->add_flag("--json", as_json, "print JSON");
  };

  std::string name, network = "10.210.0.0/16", advertise;
  auto* init = app.add_subcommand("init", "create a cluster; prints a join token last");
  common(init, false);
  init->add_option("--name", name, "machine name (default: host name)");
  init->add_option("--network", network, "cluster network")->capture_default_str();
  init->add_option("--advertise", advertise, "this machine's control address IP:PORT, put in join tokens");

  std::vector<std::string> seeds;
  auto* token = app.add_subcommand("token", "print a join token for this cluster");
  common(token, false);
  token->add_option("--seed", seeds, "extra seed address IP:PORT");

  agent::AgentOptions ao;
  auto* agent_cmd = app.add_subcommand("agent", "run the agent");
  common(agent_cmd, false);
  bool check_config = false;
  agent_cmd->add_flag("--check-config", check_config,
                      "print the settings the agent would run with (flags, then WEFT_* variables, then --config) and exit");
  agent_cmd->add_option("--name", ao.name, "machine name");
  agent_cmd->add_option("--bind", ao.bind, "control port bind address")->capture_default_str();
  agent_cmd->add_option("--advertise", ao.advertise, "control address others reach this machine at");
  agent_cmd->add_option("--token", ao.token, "join token (for a fresh data dir)");
  agent_cmd->add_option("--join", ao.join, "seed address IP:PORT (repeatable)")->delimiter(',');
  agent_cmd->add_option("--wg-backend", ao.mesh.backend, "kernel, userspace (wireguard-go) or none (no host networking)")
      ->check(CLI::IsMember({"kernel", "userspace", "none"}))
      ->capture_default_str();
  agent_cmd->add_option("--wg-interface", ao.mesh.interface_name, "WireGuard interface name")->capture_default_str();
  agent_cmd->add_option("--wg-port", ao.mesh.listen_port, "WireGuard UDP listen port")->capture_default_str();
  agent_cmd->add_option("--advertise-wg", ao.mesh.advertise_wg,
                        "a WireGuard endpoint IP:PORT others should try first (a port forward, a public IP)");
  agent_cmd->add_option("--wg-mtu", ao.mesh.mtu, "WireGuard interface MTU")->check(CLI::Range(1280, 9000))->capture_default_str();
  agent_cmd->add_option("--bridge", ao.mesh.bridge, "bridge for this machine's containers")->capture_default_str();
  agent_cmd->add_option("--wireguard-go", ao.mesh.wireguard_go,
                        "userspace backend: wireguard-go program to start (none: use a daemon that already runs)")
      ->capture_default_str();
  agent_cmd->add_option("--wg-socket-dir", ao.mesh.socket_dir, "userspace backend: UAPI socket directory")->capture_default_str();
  agent_cmd->add_flag("--cleanup-on-exit", ao.mesh.cleanup_on_exit,
                      "a clean stop removes the interface, bridge, routes and firewall rules (as leave --cleanup)");
  agent_cmd->add_flag("!--no-mesh-dns", ao.mesh.mesh_dns, "do not answer DNS on the machine's .1 address");
  agent_cmd->add_option("--docker", ao.docker.mode, "auto: register labelled Docker containers when Docker runs; off")
      ->check(CLI::IsMember({"auto", "off"}))
      ->capture_default_str();
  std::string docker_host;
  agent_cmd->add_option("--docker-host", docker_host, "Docker socket as unix:///PATH (default: DOCKER_HOST, else /var/run/docker.sock)");
  agent_cmd->add_option("--docker-network", ao.docker.network, "Docker network on this machine's /24")->capture_default_str();
  agent_cmd->add_option("--dns-listen", ao.dns_listen, "extra DNS listen address IP:PORT")->delimiter(',');
  agent_cmd->add_option("--dns-upstream", ao.dns_upstream,
                        "resolvers for names outside the mesh, IPv4[:PORT] (default: /etc/resolv.conf's; none: refuse them)")
      ->delimiter(',');
  agent_cmd->add_option("--stun-server", ao.stun_servers,
                        "a STUN server IP:PORT to ask for this machine's reflexive address, besides the members (repeatable; none by default)")
      ->delimiter(',');
  agent_cmd->add_option("--relay", ao.relay, "auto: relay for pairs that cannot reach each other when no NAT is in front of this machine; off")
      ->check(CLI::IsMember({"auto", "off"}))
      ->capture_default_str();
  agent_cmd->add_option("--relay-pair-pps", ao.relay_pair_pps, "relay: packets per second per pair")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
  agent_cmd->add_option("--relay-total-pps", ao.relay_total_pps, "relay: packets per second in all")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
  agent_cmd->add_option("--access-range", ao.access_range,
                        "addresses of access sessions: the cluster network's size, overlapping no local route; off: grant none")
      ->capture_default_str();
  agent_cmd->add_option("--join-timeout-ms", ao.join_timeout_ms, "give up joining after this long")->capture_default_str();
  std::string log_level = "info";
  agent_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();

  auto* status = app.add_subcommand("status", "this machine");
  common(status, true);
  auto* members = app.add_subcommand("members", "the cluster's members");
  common(members, true);
  auto* leave = app.add_subcommand("leave", "leave the cluster gracefully and stop the agent");
  common(leave, false);
  bool leave_cleanup = false;
  leave->add_flag("--cleanup", leave_cleanup, "also remove the interface, bridge, routes and firewall rules");
  auto* peers = app.add_subcommand("peers", "WireGuard peers: endpoint, path, handshake, traffic");
  common(peers, true);

  auto* service = app.add_subcommand("service", "service records");
  service->require_subcommand(1);
  std::string svc_name, svc_target, svc_address;
  auto* svc_add = service->add_subcommand("add", "register NAME at IP[:PORT] on this machine");
  common(svc_add, false);
  svc_add->add_option("name", svc_name)->required();
  svc_add->add_option("address", svc_target, "IP[:PORT]")->required();
  std::string svc_port_name, svc_protocol;
  svc_add->add_option("--port-name", svc_port_name, "names the port for DNS SRV: _NAME._PROTO.SERVICE.internal");
  svc_add->add_option("--protocol", svc_protocol, "tcp (default with a port) or udp")->check(CLI::IsMember({"tcp", "udp"}));
  auto* svc_rm = service->add_subcommand("rm", "remove NAME (at IP) from this machine");
  common(svc_rm, false);
  svc_rm->add_option("name", svc_name)->required();
  svc_rm->add_option("address", svc_address, "IP");
  auto* svc_ls = service->add_subcommand("ls", "list services");
  common(svc_ls, true);

  auto* machine = app.add_subcommand("machine", "machines of the cluster");
  machine->require_subcommand(1);
  std::string machine_name;
  bool force = false;
  auto* machine_rm = machine->add_subcommand("rm", "retire a dead or left machine: its records go, its /24 is free");
  common(machine_rm, false);
  machine_rm->add_option("name", machine_name, "machine name or id")->required();
  machine_rm->add_flag("--force", force, "also remove a machine that is alive");

  auto* key = app.add_subcommand("key", "cluster key rotation: generate, install everywhere, use, remove the old");
  key->require_subcommand(1);
  std::string key_hex;
  auto* key_generate = key->add_subcommand("generate", "print a new random cluster key");
  std::map<std::string, CLI::App*> key_ops;
  for (const char* op : {"install", "use", "remove"}) {
    auto* sub = key->add_subcommand(op, std::string(op) == "install" ? "accept frames sealed with KEY"
                                        : std::string(op) == "use"   ? "seal with KEY (installed everywhere first)"
                                                                     : "stop accepting KEY");
    common(sub, false);
    sub->add_option("key", key_hex, "64 hex digits")->required();
    key_ops[op] = sub;
  }
  auto* key_ls = key->add_subcommand("ls", "installed keys (ids only)");
  common(key_ls, true);

  auto* access = app.add_subcommand("access", "short-lived WireGuard sessions for outside clients");
  access->require_subcommand(1);
  GrantArgs grant;
  auto* access_grant = access->add_subcommand("grant", "grant a session; prints the client's wg-quick config");
  common(access_grant, false);
  access_grant->add_option("--ttl", grant.ttl, "lifetime: 90s, 30m, 2h, 1d, 1h30m (at most 30 days)")->capture_default_str();
  access_grant->add_option("--name", grant.label, "a label for the session");
  access_grant->add_option("--pubkey", grant.pubkey, "the client's WireGuard public key (then no private key is made)");
  access_grant->add_option("--to", grant.to, "what it may reach: SERVICE or IP[:PORT] (repeatable; default: this machine's /24)");
  access_grant->add_option("--out", grant.out, "write the config to FILE (0600) instead of printing it");
  access_grant->add_option("--endpoint", grant.endpoint, "IP:PORT the client dials (default: this machine's first WireGuard candidate)");
  access_grant->add_flag("--qr", grant.qr, "also print the config as a QR code");
  auto* access_ls = access->add_subcommand("ls", "this machine's sessions");
  common(access_ls, true);
  std::string access_id;
  auto* access_revoke = access->add_subcommand("revoke", "end a session now");
  common(access_revoke, false);
  access_revoke->add_option("id", access_id, "session id (weft access ls)")->required();

  std::vector<CLI::App*> commands{init,       token,  agent_cmd, status,       members,   peers,     leave,        svc_add,
                                  svc_rm,     svc_ls, machine_rm, key_ls,      access_grant, access_ls, access_revoke};
  for (const auto& [op, sub] : key_ops) commands.push_back(sub);
  for (CLI::App* sub : commands) cli::add_env_names(*sub);
  CLI11_PARSE(app, argc, argv);

  try {
    for (CLI::App* sub : commands)
      if (sub->parsed() && !config.empty()) cli::apply_toml(*sub, config);

    if (init->parsed()) return cmd_init(data_dir, name, network, advertise);
    if (token->parsed()) return cmd_token(data_dir, seeds);
    if (agent_cmd->parsed() && check_config) {
      // The join token carries the cluster key: say whether it is set, never what it is.
      std::istringstream settings(agent_cmd->config_to_str(true, false));
      for (std::string line; std::getline(settings, line);)
        std::cout << (line.rfind("token=", 0) == 0 && !ao.token.empty() ? "token=\"(set, not shown)\"" : line) << "\n";
      return 0;
    }
    if (agent_cmd->parsed()) {
      spdlog::set_level(spdlog::level::from_str(log_level));
      spdlog::flush_on(spdlog::level::info);  // a log line must survive a kill -9
      ao.data_dir = data_dir;
      if (!docker_host.empty()) {
        auto path = docker::socket_from_docker_host(docker_host);
        if (!path) throw Fail("--docker-host " + docker_host + ": expected unix:///PATH", 2);
        ao.docker.socket = *path;
      }
      return cmd_agent(std::move(ao));
    }
    if (status->parsed()) {
      auto s = api(data_dir, "GET", "/v1/status");
      if (as_json) {
        std::cout << s.dump(2) << "\n";
      } else {
        std::cout << "name:         " << s["name"].get<std::string>() << "\n"
                  << "id:           " << s["id"].get<std::string>() << "\n"
                  << "cluster:      " << s["cluster"].get<std::string>() << "\n"
                  << "subnet:       " << (s["subnet"].is_null() ? "-" : s["subnet"].get<std::string>()) << "\n"
                  << "mesh address: " << (s["mesh_address"].is_null() ? "-" : s["mesh_address"].get<std::string>()) << "\n"
                  << "address:      " << s["address"].get<std::string>() << "\n"
                  << "members:      " << s["members"]["alive"] << " alive, " << s["members"]["suspect"] << " suspect, "
                  << s["members"]["dead"] << " dead, " << s["members"]["left"] << " left\n";
      }
      return 0;
    }
    if (members->parsed()) {
      auto m = api(data_dir, "GET", "/v1/members");
      if (as_json) std::cout << m.dump(2) << "\n";
      else print_members(m);
      return 0;
    }
    if (leave->parsed()) {
      api(data_dir, "POST", leave_cleanup ? "/v1/leave?cleanup=1" : "/v1/leave");
      std::cout << "left the cluster; the agent is stopping" << (leave_cleanup ? " and removing its host networking" : "")
                << "\n";
      return 0;
    }
    if (peers->parsed()) {
      auto p = api(data_dir, "GET", "/v1/peers");
      if (as_json) std::cout << p.dump(2) << "\n";
      else print_peers(p);
      return 0;
    }
    if (svc_add->parsed()) {
      json body{{"name", svc_name}};
      auto colon = svc_target.find(':');
      body["address"] = svc_target.substr(0, colon);
      if (colon != std::string::npos) {
        try {
          body["port"] = std::stoi(svc_target.substr(colon + 1));
        } catch (const std::exception&) {
          throw Fail("bad port in " + svc_target);
        }
      }
      if (!svc_port_name.empty()) body["port_name"] = svc_port_name;
      if (!svc_protocol.empty()) body["protocol"] = svc_protocol;
      auto r = api(data_dir, "POST", "/v1/services", body.dump());
      std::cout << "added " << r["added"].get<std::string>() << "\n";
      return 0;
    }
    if (svc_rm->parsed()) {
      auto r = api(data_dir, "DELETE", "/v1/services?name=" + agent::url_encode(svc_name) + "&address=" + agent::url_encode(svc_address));
      std::cout << "removed " << r["removed"].size() << " record(s)\n";
      return 0;
    }
    if (key_generate->parsed()) {
      std::array<uint8_t, 32> k;
      crdt::ensure_sodium();
      randombytes_buf(k.data(), k.size());
      std::cout << to_hex(k) << "\n";
      return 0;
    }
    for (const auto& [op, sub] : key_ops)
      if (sub->parsed()) {
        auto r = api(data_dir, "POST", "/v1/keys", json{{"op", op}, {"key", key_hex}}.dump());
        std::cout << op << " key " << r["id"].get<std::string>() << " (" << r["keys"] << " installed)\n";
        return 0;
      }
    if (key_ls->parsed()) {
      auto r = api(data_dir, "GET", "/v1/keys");
      if (as_json) std::cout << r.dump(2) << "\n";
      else
        for (const auto& k : r) std::cout << k["id"].get<std::string>() << (k["primary"].get<bool>() ? "  primary" : "") << "\n";
      return 0;
    }
    if (machine_rm->parsed()) {
      auto r = api(data_dir, "POST", "/v1/machines/rm", json{{"name", machine_name}, {"force", force}}.dump());
      std::cout << "removed " << r["removed"].get<std::string>() << "\n";
      return 0;
    }
    if (access_grant->parsed()) return cmd_access_grant(data_dir, grant);
    if (access_ls->parsed()) {
      auto r = api(data_dir, "GET", "/v1/access");
      if (as_json) std::cout << r.dump(2) << "\n";
      else print_access(r);
      return 0;
    }
    if (access_revoke->parsed()) {
      auto r = api(data_dir, "DELETE", "/v1/access/" + agent::url_encode(access_id));
      std::cout << "revoked " << r["revoked"].get<std::string>() << "\n";
      return 0;
    }
    if (svc_ls->parsed()) {
      auto r = api(data_dir, "GET", "/v1/services");
      if (as_json) {
        std::cout << r.dump(2) << "\n";
      } else {
        std::printf("%-20s %-22s %-20s %s\n", "NAME", "ADDRESS", "MACHINE", "STATE");
        for (const auto& s : r)
          std::printf("%-20s %-22s %-20s %s\n", s["name"].get<std::string>().c_str(),
                      (s["address"].get<std::string>() + (s["port"].is_null() ? "" : ":" + std::to_string(s["port"].get<int>()))).c_str(),
                      s["machine"].get<std::string>().c_str(), s["machine_state"].get<std::string>().c_str());
      }
      return 0;
    }
  } catch (const Fail& e) {
    std::cerr << "weft: " << e.what() << "\n";
    return e.code;
  } catch (const store::StoreError& e) {
    std::cerr << "weft: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "weft: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
