// `weft status`, `members`, `leave`, `peers`: this machine and its view of the cluster, from the
// running agent.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"

namespace weft::cli {

namespace {

void print_status(const json& s) {
  std::cout << "name:         " << s["name"].get<std::string>() << "\n"
            << "id:           " << s["id"].get<std::string>() << "\n"
            << "cluster:      " << s["cluster"].get<std::string>() << "\n"
            << "subnet:       " << (s["subnet"].is_null() ? "-" : s["subnet"].get<std::string>()) << "\n"
            << "mesh address: " << (s["mesh_address"].is_null() ? "-" : s["mesh_address"].get<std::string>()) << "\n"
            << "address:      " << s["address"].get<std::string>() << "\n"
            << "members:      " << s["members"]["alive"] << " alive, " << s["members"]["suspect"] << " suspect, "
            << s["members"]["dead"] << " dead, " << s["members"]["left"] << " left\n";
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

}  // namespace

void add_status_commands(Registry& reg) {
  auto leave_cleanup = std::make_shared<bool>(false);
  Shared& shared = reg.shared;

  auto* status = reg.app.add_subcommand("status", "this machine");
  add_common(*status, shared, true);
  reg.add(status, [&shared] { return show(shared, "/v1/status", print_status); });

  auto* members = reg.app.add_subcommand("members", "the cluster's members");
  add_common(*members, shared, true);
  reg.add(members, [&shared] { return show(shared, "/v1/members", print_members); });

  auto* leave = reg.app.add_subcommand("leave", "leave the cluster gracefully and stop the agent");
  add_common(*leave, shared, false);
  leave->add_flag("--cleanup", *leave_cleanup, "also remove the interface, bridge, routes and firewall rules");
  reg.add(leave, [leave_cleanup, &shared] {
    api(shared.data_dir, "POST", *leave_cleanup ? "/v1/leave?cleanup=1" : "/v1/leave");
    std::cout << "left the cluster; the agent is stopping" << (*leave_cleanup ? " and removing its host networking" : "")
              << "\n";
    return 0;
  });

  auto* peers = reg.app.add_subcommand("peers", "WireGuard peers: endpoint, path, handshake, traffic");
  add_common(*peers, shared, true);
  reg.add(peers, [&shared] { return show(shared, "/v1/peers", print_peers); });
}

}  // namespace weft::cli
