// The table of `weft` subcommands. Each command group adds its subcommands to the CLI11 app and
// one entry per runnable subcommand here; main() layers settings onto the entries and runs the
// entry whose subcommand was parsed. Groups register in help order: CLI11 lists subcommands and
// options in the order they were added.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <utility>
#include <vector>

#include "cli/common.hpp"

namespace weft::cli {

struct Command {
  CLI::App* sub;
  std::function<int()> run;  // the exit code; throws Fail and the like
  bool layered;              // takes WEFT_* variables and --config (false: has no options)
};

struct Registry {
  CLI::App& app;
  Shared& shared;
  std::vector<Command> commands;

  void add(CLI::App* sub, std::function<int()> run, bool layered = true) {
    commands.push_back({sub, std::move(run), layered});
  }
};

void add_cluster_commands(Registry& reg);  // init, token
void add_agent_commands(Registry& reg);    // agent
void add_status_commands(Registry& reg);   // status, members, leave, peers
void add_service_commands(Registry& reg);  // service add, rm, ls
void add_machine_commands(Registry& reg);  // machine rm
void add_key_commands(Registry& reg);      // key generate, install, use, remove, ls
void add_access_commands(Registry& reg);   // access grant, ls, revoke

}  // namespace weft::cli
