// What the Docker Engine API (v1.41, Debian 12's docker.io 20.10) says, decoded from its JSON:
// a network, the container list, one container's inspect, and one line of the event stream.
// Pure: the bytes come from engine_client.cpp. Anything malformed is an error with a reason,
// never a crash (fuzzed: tests/fuzz/docker_json_fuzz.cpp).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ipv4.hpp"

namespace weft::docker {

struct NetworkInfo {
  std::string id;
  std::string name;
  std::string driver;
  std::string bridge_name;           // com.docker.network.bridge.name, "" when Docker chose one
  std::optional<Ipv4Net> subnet;     // the first IPv4 IPAM config
  std::optional<Ipv4> gateway;
  bool masquerade = true;            // com.docker.network.bridge.enable_ip_masquerade
};

enum class Health { none, starting, healthy, unhealthy };
const char* health_name(Health h);

struct Container {
  std::string id;
  std::string name;  // without Docker's leading '/'
  bool running = false;
  Health health = Health::none;
  std::map<std::string, std::string> labels;
  std::optional<Ipv4> address;  // on the network asked about
};

struct Event {
  std::string id;
  std::string action;  // "start", "die", "stop", "destroy", "health_status", ...
  std::optional<Health> health;  // for health_status
  std::string name;
  std::map<std::string, std::string> labels;  // Actor.Attributes minus name and image
};

std::optional<NetworkInfo> parse_network(std::string_view json, std::string* error);
// GET /containers/json: every container; `address` is its IPv4 on `network`.
std::optional<std::vector<Container>> parse_container_list(std::string_view json, const std::string& network,
                                                           std::string* error);
// GET /containers/ID/json.
std::optional<Container> parse_container_inspect(std::string_view json, const std::string& network, std::string* error);
// One JSON object of GET /events. Events that are not about containers are errors too.
std::optional<Event> parse_event(std::string_view json, std::string* error);

}  // namespace weft::docker
