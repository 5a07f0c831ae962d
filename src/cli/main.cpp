// weft: the command line. `weft init` and `weft token` read the data dir directly; `weft agent`
// runs the agent; every other command is a client of the running agent's local API. Each command
// group (cmd_*.cpp) adds its subcommands and their handlers to one table; this runs the one that
// was parsed.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/config_layers.hpp"
#include "store/record_store.hpp"

using namespace weft;

int main(int argc, char** argv) {
  CLI::App app{"weft: a peer-to-peer WireGuard mesh agent"};
  app.require_subcommand(1);
  cli::Shared shared;
  cli::Registry reg{app, shared, {}};
  cli::add_cluster_commands(reg);
  cli::add_agent_commands(reg);
  cli::add_status_commands(reg);
  cli::add_service_commands(reg);
  cli::add_machine_commands(reg);
  cli::add_key_commands(reg);
  cli::add_access_commands(reg);

  for (const cli::Command& c : reg.commands)
    if (c.layered) cli::add_env_names(*c.sub);
  CLI11_PARSE(app, argc, argv);

  try {
    for (const cli::Command& c : reg.commands) {
      if (!c.sub->parsed()) continue;
      if (c.layered && !shared.config.empty()) cli::apply_toml(*c.sub, shared.config);
      return c.run();
    }
  } catch (const cli::Fail& e) {
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
