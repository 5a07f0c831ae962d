// Typed values of each record kind, encoded as the Cap'n Proto structs of
// schema/records.capnp. decode_* return nullopt for bytes that are not a well-formed value
// of that kind; check_value() is what merge uses to refuse a signed but nonsensical record.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ipv4.hpp"
#include "crdt/record.hpp"

namespace weft::crdt {

using WireguardKey = std::array<uint8_t, 32>;

struct Endpoint {
  std::string ip;  // textual IPv4 or IPv6
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

struct MachineValue {
  std::string name;
  WireguardKey wireguard_key{};
  OwnerId signing_key{};
  Endpoint control_address;
  bool relay_capable = false;
  std::string version;
  bool operator==(const MachineValue&) const = default;
};

struct SubnetClaimValue {
  Ipv4Net subnet;
  bool operator==(const SubnetClaimValue&) const = default;
};

struct EndpointCandidatesValue {
  std::vector<Endpoint> candidates;
  bool operator==(const EndpointCandidatesValue&) const = default;
};

struct ObservedEndpointValue {
  OwnerId peer{};
  Endpoint endpoint;
  bool operator==(const ObservedEndpointValue&) const = default;
};

struct ContainerLeaseValue {
  Ipv4 address;
  std::string container_id;
  std::string container_name;
  bool operator==(const ContainerLeaseValue&) const = default;
};

struct ServiceInstanceValue {
  std::string service;
  std::string address;
  uint16_t port = 0;  // 0: no port
  std::string protocol;
  std::string port_name;
  bool healthy = true;
  bool operator==(const ServiceInstanceValue&) const = default;
};

struct AccessSessionValue {
  std::string label;
  std::string address;
  WireguardKey client_key{};
  uint64_t expires_ms = 0;
  std::vector<std::string> targets;  // service names or IP[:PORT]; empty: the granting machine's /24
  uint64_t granted_ms = 0;
  bool operator==(const AccessSessionValue&) const = default;
};

struct MachineRemovalValue {
  OwnerId machine{};
  std::string name;
  bool operator==(const MachineRemovalValue&) const = default;
};

std::string encode_value(const MachineValue& v);
std::string encode_value(const MachineRemovalValue& v);
std::string encode_value(const SubnetClaimValue& v);
std::string encode_value(const EndpointCandidatesValue& v);
std::string encode_value(const ObservedEndpointValue& v);
std::string encode_value(const ContainerLeaseValue& v);
std::string encode_value(const ServiceInstanceValue& v);
std::string encode_value(const AccessSessionValue& v);

std::optional<MachineValue> decode_machine(std::string_view bytes);
std::optional<MachineRemovalValue> decode_machine_removal(std::string_view bytes);
std::optional<SubnetClaimValue> decode_subnet_claim(std::string_view bytes);
std::optional<EndpointCandidatesValue> decode_endpoint_candidates(std::string_view bytes);
std::optional<ObservedEndpointValue> decode_observed_endpoint(std::string_view bytes);
std::optional<ContainerLeaseValue> decode_container_lease(std::string_view bytes);
std::optional<ServiceInstanceValue> decode_service_instance(std::string_view bytes);
std::optional<AccessSessionValue> decode_access_session(std::string_view bytes);

// Record names that tie a key to its value, so two keys cannot carry the same fact.
inline const std::string kMachineRecordName = "self";
std::string subnet_claim_name(const Ipv4Net& subnet);   // "10.210.7.0/24"
std::string container_lease_name(const Ipv4& address);  // "10.210.7.2"
std::string machine_removal_name(const OwnerId& machine);  // the machine id in hex

// A service or port name: 1-63 letters, digits, '-' or '_', not starting or ending with '-'.
bool valid_service_name(std::string_view name);
// A machine name is one DNS label (it answers as <name>.m.internal): 1-63 letters, digits or
// '-', not starting or ending with '-'.
bool valid_machine_name(std::string_view name);

// True when a live record's value decodes as its kind and agrees with its key
// (machine: name "self", signing key == owner and a valid machine name; subnet claim: name ==
// subnet; lease: name == address; service instance: valid service and port names). Names in
// records become DNS labels on every machine, so one a label cannot carry is refused here.
// Tombstones carry no value and are always well-formed.
bool check_value(const Record& record);

}  // namespace weft::crdt
