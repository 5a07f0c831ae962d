#include "docker/container_records.hpp"

#include <charconv>
#include <map>

#include "crdt/values.hpp"

namespace weft::docker {

std::optional<ServiceLabels> parse_labels(const std::map<std::string, std::string>& labels, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ServiceLabels> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  auto svc = labels.find(kServiceLabel);
  if (svc == labels.end()) return fail("no " + kServiceLabel + " label");
  ServiceLabels out;
  out.service = svc->second;
  if (!crdt::valid_service_name(out.service))
    return fail(kServiceLabel + "=" + out.service + ": a service name is 1-63 letters, digits, '-' or '_'");
  auto port = labels.find(kPortLabel);
  if (port == labels.end()) return out;
  // NAME:PORT/PROTO, e.g. http:8000/tcp; the protocol defaults to tcp.
  const std::string& text = port->second;
  auto bad = [&] { return fail(kPortLabel + "=" + text + ": expected NAME:PORT/PROTO, e.g. http:8000/tcp"); };
  size_t colon = text.find(':');
  if (colon == std::string::npos) return bad();
  out.port_name = text.substr(0, colon);
  std::string rest = text.substr(colon + 1);
  size_t slash = rest.find('/');
  out.protocol = slash == std::string::npos ? "tcp" : rest.substr(slash + 1);
  std::string number = rest.substr(0, slash);
  unsigned n = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (ec != std::errc() || end != number.data() + number.size() || n == 0 || n > 65535) return bad();
  if (!crdt::valid_service_name(out.port_name) || (out.protocol != "tcp" && out.protocol != "udp")) return bad();
  out.port = static_cast<uint16_t>(n);
  return out;
}

ContainerPlan plan_container_records(const crdt::ClusterState& state, const crdt::OwnerId& self, const Ipv4Net& subnet,
                                     const std::vector<Container>& containers) {
  ContainerPlan plan;
  std::map<std::pair<crdt::Kind, std::string>, std::string> wanted;
  std::map<Ipv4, std::string> address_of;  // two containers claiming one address: the first wins
  for (const auto& c : containers) {
    if (!c.running || !c.labels.count(kServiceLabel)) continue;
    std::string who = c.name.empty() ? c.id.substr(0, 12) : c.name;
    std::string why;
    auto labels = parse_labels(c.labels, &why);
    if (!labels) {
      plan.refused.push_back({who, why});
      continue;
    }
    if (!c.address) {
      plan.refused.push_back({who, "no address on the weft network"});
      continue;
    }
    if (!subnet.contains(*c.address) || c.address->value == subnet.base.value ||
        c.address->value == subnet.base.value + 1 || c.address->value == subnet.base.value + static_cast<uint32_t>(subnet.size() - 1)) {
      plan.refused.push_back({who, "address " + c.address->to_string() + " is not a container address of " + subnet.to_string()});
      continue;
    }
    if (!address_of.emplace(*c.address, c.id).second) {
      plan.refused.push_back({who, "address " + c.address->to_string() + " is already used by another container"});
      continue;
    }
    crdt::ServiceInstanceValue v{labels->service, c.address->to_string(), labels->port, labels->port ? labels->protocol : "",
                                 labels->port_name, c.health == Health::none || c.health == Health::healthy};
    wanted[{crdt::Kind::service_instance, kRecordPrefix + c.id}] = crdt::encode_value(v);
    wanted[{crdt::Kind::container_lease, crdt::container_lease_name(*c.address)}] =
        crdt::encode_value(crdt::ContainerLeaseValue{*c.address, c.id, c.name});
  }
  // What this machine holds now: its leases and its docker: instances.
  std::map<std::pair<crdt::Kind, std::string>, std::string> held;
  state.for_owner(self, [&](const crdt::Record& r) {
    if (r.tombstone) return;
    if (r.key.kind == crdt::Kind::container_lease ||
        (r.key.kind == crdt::Kind::service_instance && r.key.name.starts_with(kRecordPrefix)))
      held[{r.key.kind, r.key.name}] = r.value;
  });
  for (const auto& [key, value] : wanted) {
    auto it = held.find(key);
    if (it == held.end() || it->second != value) plan.writes.push_back({key.first, key.second, value});
  }
  for (const auto& [key, value] : held)
    if (!wanted.count(key)) plan.writes.push_back({key.first, key.second, ""});
  return plan;
}

}  // namespace weft::docker
