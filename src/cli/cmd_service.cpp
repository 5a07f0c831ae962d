// `weft service add`, `rm`, `ls`: service records of this machine, through the running agent.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "agent/local_api.hpp"
#include "cli/commands.hpp"

namespace weft::cli {

namespace {

void print_services(const json& services) {
  std::printf("%-20s %-22s %-20s %s\n", "NAME", "ADDRESS", "MACHINE", "STATE");
  for (const auto& s : services)
    std::printf("%-20s %-22s %-20s %s\n", s["name"].get<std::string>().c_str(),
                (s["address"].get<std::string>() + (s["port"].is_null() ? "" : ":" + std::to_string(s["port"].get<int>()))).c_str(),
                s["machine"].get<std::string>().c_str(), s["machine_state"].get<std::string>().c_str());
}

}  // namespace

void add_service_commands(Registry& reg) {
  struct Args {
    std::string name, target, address, port_name, protocol;
  };
  auto args = std::make_shared<Args>();
  Shared& shared = reg.shared;

  auto* service = reg.app.add_subcommand("service", "service records");
  service->require_subcommand(1);

  auto* svc_add = service->add_subcommand("add", "register NAME at IP[:PORT] on this machine");
  add_common(*svc_add, shared, false);
  svc_add->add_option("name", args->name)->required();
  svc_add->add_option("address", args->target, "IP[:PORT]")->required();
  svc_add->add_option("--port-name", args->port_name, "names the port for DNS SRV: _NAME._PROTO.SERVICE.internal");
  svc_add->add_option("--protocol", args->protocol, "tcp (default with a port) or udp")->check(CLI::IsMember({"tcp", "udp"}));
  reg.add(svc_add, [args, &shared] {
    json body{{"name", args->name}};
    auto colon = args->target.find(':');
    body["address"] = args->target.substr(0, colon);
    if (colon != std::string::npos) {
      try {
        body["port"] = std::stoi(args->target.substr(colon + 1));
      } catch (const std::exception&) {
        throw Fail("bad port in " + args->target);
      }
    }
    if (!args->port_name.empty()) body["port_name"] = args->port_name;
    if (!args->protocol.empty()) body["protocol"] = args->protocol;
    auto r = api(shared.data_dir, "POST", "/v1/services", body.dump());
    std::cout << "added " << r["added"].get<std::string>() << "\n";
    return 0;
  });

  auto* svc_rm = service->add_subcommand("rm", "remove NAME (at IP) from this machine");
  add_common(*svc_rm, shared, false);
  svc_rm->add_option("name", args->name)->required();
  svc_rm->add_option("address", args->address, "IP");
  reg.add(svc_rm, [args, &shared] {
    auto r = api(shared.data_dir, "DELETE",
                 "/v1/services?name=" + agent::url_encode(args->name) + "&address=" + agent::url_encode(args->address));
    std::cout << "removed " << r["removed"].size() << " record(s)\n";
    return 0;
  });

  auto* svc_ls = service->add_subcommand("ls", "list services");
  add_common(*svc_ls, shared, true);
  reg.add(svc_ls, [&shared] { return show(shared, "/v1/services", print_services); });
}

}  // namespace weft::cli
