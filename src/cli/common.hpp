// What the command groups share: the options most subcommands take, the call to the running
// agent's local API, and the failure that main() turns into "weft: MESSAGE" and an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace weft::cli {

using json = nlohmann::json;

struct Fail : std::runtime_error {
  int code;
  Fail(const std::string& m, int c = 1) : std::runtime_error(m), code(c) {}
};

// One variable per shared option, whichever subcommand sets it: exactly one subcommand runs.
struct Shared {
  std::string data_dir = "/var/lib/weft";
  std::string config;
  bool as_json = false;
};

// --data-dir and --config, and --json for the commands that can print JSON.
void add_common(CLI::App& sub, Shared& shared, bool json_flag);

// A request to the agent of `data_dir`; throws Fail with the agent's error unless it answers 200.
json api(const std::string& data_dir, const std::string& method, const std::string& target, const std::string& body = "");

// What --json prints.
void print_json(const json& j);

// The read-only commands: GET `target` from the agent, then print it as JSON (--json) or as text.
int show(const Shared& shared, const std::string& target, void (*print_text)(const json&));

}  // namespace weft::cli
