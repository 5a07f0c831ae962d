#include "cli/config_layers.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace weft::cli {

namespace {

std::string env_name(const std::string& lname) {
  std::string out = "WEFT_";
  for (char c : lname) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::string as_string(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (auto i = node.value<int64_t>()) return std::to_string(*i);
  if (auto b = node.value<bool>()) return *b ? "true" : "false";
  if (auto d = node.value<double>()) return std::to_string(*d);
  throw std::runtime_error("unsupported TOML value type");
}

}  // namespace

void add_env_names(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty()) continue;
    const std::string& lname = opt->get_lnames().front();
    if (lname == "help" || lname == "config" || lname == "check-config") continue;
    opt->envname(env_name(lname));
  }
}

void apply_toml(CLI::App& app, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config file " << path << ": " << e.description() << " (line " << e.source().begin.line << ")";
    throw std::runtime_error(msg.str());
  }
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    std::replace(name.begin(), name.end(), '_', '-');
    CLI::Option* opt = nullptr;
    for (CLI::Option* o : app.get_options())
      if (!o->get_lnames().empty() && o->get_lnames().front() == name) opt = o;
    if (!opt || name == "config") throw std::runtime_error("config file " + path + ": unknown setting '" + std::string(key.str()) + "'");
    if (opt->count() > 0) continue;  // a flag or environment variable already set it
    if (auto arr = node.as_array()) {
      for (auto&& item : *arr) opt->add_result(as_string(item));
    } else {
      opt->add_result(as_string(node));
    }
    opt->run_callback();
  }
}

}  // namespace weft::cli
