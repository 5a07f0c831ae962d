// From running containers to this machine's records, pure.
//
// A running container on the weft network with a label weft.service=NAME (and optionally
// weft.port=PORTNAME:PORT/PROTO) is, in cluster state:
//   - a service instance, record name "docker:<container id>", healthy unless its Docker
//     healthcheck says otherwise (starting or unhealthy: DNS skips it);
//   - a container lease of its address (record name = the address), so the address is taken.
// A container whose address lies outside this machine's /24, or whose labels are malformed, is
// refused with a reason (logged by the caller) and gets no records. plan() compares with what
// the state holds for this machine and returns the minimal puts and erases.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crdt/record.hpp"
#include "crdt/state.hpp"
#include "docker/engine_json.hpp"

namespace weft::docker {

inline const std::string kServiceLabel = "weft.service";
inline const std::string kPortLabel = "weft.port";
inline const std::string kRecordPrefix = "docker:";

struct ServiceLabels {
  std::string service;
  uint16_t port = 0;
  std::string port_name;
  std::string protocol;
};
// nullopt (and *error) for a container without weft.service or with malformed labels.
std::optional<ServiceLabels> parse_labels(const std::map<std::string, std::string>& labels, std::string* error);

struct RecordWrite {
  crdt::Kind kind;
  std::string name;
  std::string value;  // empty: erase
  bool operator==(const RecordWrite&) const = default;
};

struct Refusal {
  std::string container;  // name (or id)
  std::string reason;
};

struct ContainerPlan {
  std::vector<RecordWrite> writes;
  std::vector<Refusal> refused;
};

// `containers`: every container Docker reports (running or not) on the weft network.
ContainerPlan plan_container_records(const crdt::ClusterState& state, const crdt::OwnerId& self, const Ipv4Net& subnet,
                                     const std::vector<Container>& containers);

}  // namespace weft::docker
