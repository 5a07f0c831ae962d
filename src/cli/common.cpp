#include "cli/common.hpp"

#include <filesystem>
#include <iostream>

#include "agent/local_api.hpp"

namespace weft::cli {

void add_common(CLI::App& sub, Shared& shared, bool json_flag) {
  sub.add_option("--data-dir", shared.data_dir, "data directory")->capture_default_str();
  sub.add_option("--config", shared.config, "TOML config file");
  if (json_flag) sub.add_flag("--json", shared.as_json, "print JSON");
}

json api(const std::string& data_dir, const std::string& method, const std::string& target, const std::string& body) {
  auto res = agent::call_local_api(std::filesystem::path(data_dir) / "api.sock", method, target, body);
  json out = json::parse(res.body, nullptr, false);
  if (res.status != 200) throw Fail(out.is_object() && out.contains("error") ? out["error"].get<std::string>() : res.body);
  return out;
}

void print_json(const json& j) { std::cout << j.dump(2) << "\n"; }

int show(const Shared& shared, const std::string& target, void (*print_text)(const json&)) {
  auto r = api(shared.data_dir, "GET", target);
  if (shared.as_json) print_json(r);
  else print_text(r);
  return 0;
}

}  // namespace weft::cli
