// `weft machine rm`: retires a machine of the cluster, through the running agent.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"

namespace weft::cli {

void add_machine_commands(Registry& reg) {
  struct Args {
    std::string name;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  Shared& shared = reg.shared;

  auto* machine = reg.app.add_subcommand("machine", "machines of the cluster");
  machine->require_subcommand(1);

  auto* machine_rm = machine->add_subcommand("rm", "retire a dead or left machine: its records go, its /24 is free");
  add_common(*machine_rm, shared, false);
  machine_rm->add_option("name", args->name, "machine name or id")->required();
  machine_rm->add_flag("--force", args->force, "also remove a machine that is alive");
  reg.add(machine_rm, [args, &shared] {
    auto r = api(shared.data_dir, "POST", "/v1/machines/rm", json{{"name", args->name}, {"force", args->force}}.dump());
    std::cout << "removed " << r["removed"].get<std::string>() << "\n";
    return 0;
  });
}

}  // namespace weft::cli
