#include "docker/engine_json.hpp"

#include <nlohmann/json.hpp>

namespace weft::docker {

using json = nlohmann::json;

const char* health_name(Health h) {
  switch (h) {
    case Health::none: return "none";
    case Health::starting: return "starting";
    case Health::healthy: return "healthy";
    case Health::unhealthy: return "unhealthy";
  }
  return "?";
}

namespace {

std::optional<json> parse(std::string_view text, std::string* error) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    if (error) *error = "not JSON";
    return std::nullopt;
  }
  return j;
}

std::string string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> string_map(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items())
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  return out;
}

std::optional<Health> health_of(std::string_view text) {
  if (text == "healthy") return Health::healthy;
  if (text == "unhealthy") return Health::unhealthy;
  if (text == "starting") return Health::starting;
  if (text == "none" || text.empty()) return Health::none;
  return std::nullopt;
}

// The list's Status: "Up 3 seconds (healthy)", "(unhealthy)", "(health: starting)".
Health health_from_status(const std::string& status) {
  if (status.find("(healthy)") != std::string::npos) return Health::healthy;
  if (status.find("(unhealthy)") != std::string::npos) return Health::unhealthy;
  if (status.find("(health: starting)") != std::string::npos) return Health::starting;
  return Health::none;
}

std::optional<Ipv4> address_on(const json& settings, const std::string& network) {
  if (!settings.is_object()) return std::nullopt;
  auto nets = settings.find("Networks");
  if (nets == settings.end() || !nets->is_object()) return std::nullopt;
  auto n = nets->find(network);
  if (n == nets->end() || !n->is_object()) return std::nullopt;
  return Ipv4::parse(string_at(*n, "IPAddress"));
}

std::string without_slash(std::string name) {
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  return name;
}

}  // namespace

std::optional<NetworkInfo> parse_network(std::string_view text, std::string* error) {
  auto j = parse(text, error);
  if (!j) return std::nullopt;
  if (!j->is_object() || string_at(*j, "Id").empty()) {
    if (error) *error = "not a network object";
    return std::nullopt;
  }
  NetworkInfo n;
  n.id = string_at(*j, "Id");
  n.name = string_at(*j, "Name");
  n.driver = string_at(*j, "Driver");
  if (auto opts = j->find("Options"); opts != j->end()) {
    auto o = string_map(*opts);
    n.bridge_name = o["com.docker.network.bridge.name"];
    n.masquerade = o["com.docker.network.bridge.enable_ip_masquerade"] != "false";
  }
  if (auto ipam = j->find("IPAM"); ipam != j->end() && ipam->is_object()) {
    if (auto config = ipam->find("Config"); config != ipam->end() && config->is_array())
      for (const auto& c : *config) {
        if (!c.is_object()) continue;
        auto subnet = Ipv4Net::parse(string_at(c, "Subnet"));
        if (!subnet) continue;  // an IPv6 pool
        n.subnet = subnet;
        n.gateway = Ipv4::parse(string_at(c, "Gateway"));
        break;
      }
  }
  return n;
}

std::optional<std::vector<Container>> parse_container_list(std::string_view text, const std::string& network,
                                                           std::string* error) {
  auto j = parse(text, error);
  if (!j) return std::nullopt;
  if (!j->is_array()) {
    if (error) *error = "container list is not an array";
    return std::nullopt;
  }
  std::vector<Container> out;
  for (const auto& c : *j) {
    if (!c.is_object() || string_at(c, "Id").empty()) {
      if (error) *error = "container entry without an Id";
      return std::nullopt;
    }
    Container x;
    x.id = string_at(c, "Id");
    if (auto names = c.find("Names"); names != c.end() && names->is_array() && !names->empty() && (*names)[0].is_string())
      x.name = without_slash((*names)[0].get<std::string>());
    x.running = string_at(c, "State") == "running";
    x.health = health_from_status(string_at(c, "Status"));
    if (auto labels = c.find("Labels"); labels != c.end()) x.labels = string_map(*labels);
    if (auto settings = c.find("NetworkSettings"); settings != c.end()) x.address = address_on(*settings, network);
    out.push_back(std::move(x));
  }
  return out;
}

std::optional<Container> parse_container_inspect(std::string_view text, const std::string& network, std::string* error) {
  auto j = parse(text, error);
  if (!j) return std::nullopt;
  if (!j->is_object() || string_at(*j, "Id").empty()) {
    if (error) *error = "not a container object";
    return std::nullopt;
  }
  Container x;
  x.id = string_at(*j, "Id");
  x.name = without_slash(string_at(*j, "Name"));
  if (auto state = j->find("State"); state != j->end() && state->is_object()) {
    x.running = state->value("Running", false) == true;
    if (auto health = state->find("Health"); health != state->end() && health->is_object())
      x.health = health_of(string_at(*health, "Status")).value_or(Health::none);
  }
  if (auto config = j->find("Config"); config != j->end() && config->is_object())
    if (auto labels = config->find("Labels"); labels != config->end()) x.labels = string_map(*labels);
  if (auto settings = j->find("NetworkSettings"); settings != j->end()) x.address = address_on(*settings, network);
  return x;
}

std::optional<Event> parse_event(std::string_view text, std::string* error) {
  auto j = parse(text, error);
  if (!j) return std::nullopt;
  if (!j->is_object() || string_at(*j, "Type") != "container") {
    if (error) *error = "not a container event";
    return std::nullopt;
  }
  Event e;
  std::string action = string_at(*j, "Action");
  auto actor = j->find("Actor");
  if (actor != j->end() && actor->is_object()) {
    e.id = string_at(*actor, "ID");
    if (auto attrs = actor->find("Attributes"); attrs != actor->end()) e.labels = string_map(*attrs);
  }
  if (e.id.empty()) e.id = string_at(*j, "id");
  if (e.id.empty() || action.empty()) {
    if (error) *error = "container event without an id or action";
    return std::nullopt;
  }
  // "health_status: healthy": the action, then the state.
  if (auto colon = action.find(": "); colon != std::string::npos) {
    std::string detail = action.substr(colon + 2);
    action.resize(colon);
    if (action == "health_status") {
      e.health = health_of(detail);
      if (!e.health) {
        if (error) *error = "unknown health " + detail;
        return std::nullopt;
      }
    }
  }
  e.action = action;
  e.name = e.labels.count("name") ? e.labels["name"] : "";
  e.labels.erase("name");
  e.labels.erase("image");
  return e;
}

}  // namespace weft::docker
