// `weft agent`: runs the agent until a signal or the agent itself stops it.
#include <spdlog/spdlog.h>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "agent/agent.hpp"
#include "cli/commands.hpp"
#include "agent/engine_client.hpp"

namespace weft::cli {

namespace {

int run_agent(agent::AgentOptions options) {
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

}  // namespace

void add_agent_commands(Registry& reg) {
  struct Args {
    agent::AgentOptions ao;
    bool check_config = false;
    std::string docker_host;
    std::string log_level = "info";
  };
  auto args = std::make_shared<Args>();
  agent::AgentOptions& ao = args->ao;
  Shared& shared = reg.shared;

  auto* agent_cmd = reg.app.add_subcommand("agent", "run the agent");
  add_common(*agent_cmd, shared, false);
  agent_cmd->add_flag("--check-config", args->check_config,
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
  agent_cmd->add_option("--docker-host", args->docker_host,
                        "Docker socket as unix:///PATH (default: DOCKER_HOST, else /var/run/docker.sock)");
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
  agent_cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")->capture_default_str();

  reg.add(agent_cmd, [args, agent_cmd, &shared] {
    if (args->check_config) {
      // The join token carries the cluster key: say whether it is set, never what it is.
      std::istringstream settings(agent_cmd->config_to_str(true, false));
      for (std::string line; std::getline(settings, line);)
        std::cout << (line.rfind("token=", 0) == 0 && !args->ao.token.empty() ? "token=\"(set, not shown)\"" : line) << "\n";
      return 0;
    }
    spdlog::set_level(spdlog::level::from_str(args->log_level));
    spdlog::flush_on(spdlog::level::info);  // a log line must survive a kill -9
    args->ao.data_dir = shared.data_dir;
    if (!args->docker_host.empty()) {
      auto path = docker::socket_from_docker_host(args->docker_host);
      if (!path) throw Fail("--docker-host " + args->docker_host + ": expected unix:///PATH", 2);
      args->ao.docker.socket = *path;
    }
    return run_agent(std::move(args->ao));
  });
}

}  // namespace weft::cli
