// `weft init` and `weft token`: they read and write the data dir directly, no agent running.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "agent/address.hpp"
#include "agent/cluster_info.hpp"
#include "base/hex.hpp"
#include "base/ipv4.hpp"
#include "cli/commands.hpp"
#include "crdt/subnet.hpp"
#include "crdt/values.hpp"
#include "store/durable_replica.hpp"

namespace weft::cli {

namespace {

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

}  // namespace

void add_cluster_commands(Registry& reg) {
  struct Args {
    std::string name, network = "10.210.0.0/16", advertise;
    std::vector<std::string> seeds;
  };
  auto args = std::make_shared<Args>();
  Shared& shared = reg.shared;

  auto* init = reg.app.add_subcommand("init", "create a cluster; prints a join token last");
  add_common(*init, shared, false);
  init->add_option("--name", args->name, "machine name (default: host name)");
  init->add_option("--network", args->network, "cluster network")->capture_default_str();
  init->add_option("--advertise", args->advertise, "this machine's control address IP:PORT, put in join tokens");
  reg.add(init, [args, &shared] { return cmd_init(shared.data_dir, args->name, args->network, args->advertise); });

  auto* token = reg.app.add_subcommand("token", "print a join token for this cluster");
  add_common(*token, shared, false);
  token->add_option("--seed", args->seeds, "extra seed address IP:PORT");
  reg.add(token, [args, &shared] { return cmd_token(shared.data_dir, args->seeds); });
}

}  // namespace weft::cli
