#include "crdt/values.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

#include "base/hex.hpp"
#include "schema/records.capnp.h"

namespace weft::crdt {

namespace {

capnp::ReaderOptions value_limits() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kMaxValueBytes / sizeof(capnp::word) * 4;
  options.nestingLimit = 8;
  return options;
}

template <typename Struct, typename Fill>
std::string build(Fill&& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<Struct>());
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Runs `read` on the root of `bytes` as Struct; nullopt on any malformation.
template <typename Struct, typename Read>
auto parse(std::string_view bytes, Read&& read) -> decltype(read(typename Struct::Reader{})) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0 || bytes.size() > kMaxValueBytes)
    return std::nullopt;
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  decltype(read(typename Struct::Reader{})) result;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 capnp::FlatArrayMessageReader reader(words, value_limits());
                 result = read(reader.getRoot<Struct>());
               })) {
    return std::nullopt;
  }
  return result;
}

kj::ArrayPtr<const kj::byte> data(const std::array<uint8_t, 32>& key) {
  return kj::arrayPtr(key.data(), key.size());
}

bool read_key(capnp::Data::Reader in, std::array<uint8_t, 32>& out) {
  if (in.size() != out.size()) return false;
  std::memcpy(out.data(), in.begin(), out.size());
  return true;
}

void set_endpoint(schema::Endpoint::Builder out, const Endpoint& e) {
  out.setIp(e.ip);
  out.setPort(e.port);
}

Endpoint get_endpoint(schema::Endpoint::Reader in) {
  return Endpoint{std::string(in.getIp().cStr(), in.getIp().size()), in.getPort()};
}

// Text fields end up in DNS answers, firewall rules and logs: no embedded NUL.
std::string text(capnp::Text::Reader t) {
  std::string out(t.cStr(), t.size());
  KJ_REQUIRE(out.find('\0') == std::string::npos, "NUL inside a text field");
  return out;
}

}  // namespace

std::string encode_value(const MachineValue& v) {
  return build<schema::Machine>([&](schema::Machine::Builder m) {
    m.setName(v.name);
    m.setWireguardKey(data(v.wireguard_key));
    m.setSigningKey(data(v.signing_key));
    set_endpoint(m.initControlAddress(), v.control_address);
    m.setRelayCapable(v.relay_capable);
    m.setVersion(v.version);
  });
}

std::optional<MachineValue> decode_machine(std::string_view bytes) {
  return parse<schema::Machine>(bytes, [](schema::Machine::Reader m) -> std::optional<MachineValue> {
    MachineValue v;
    v.name = text(m.getName());
    if (!read_key(m.getWireguardKey(), v.wireguard_key) ||
        !read_key(m.getSigningKey(), v.signing_key))
      return std::nullopt;
    v.control_address = get_endpoint(m.getControlAddress());
    v.relay_capable = m.getRelayCapable();
    v.version = text(m.getVersion());
    return v;
  });
}

std::string encode_value(const MachineRemovalValue& v) {
  return build<schema::MachineRemoval>([&](schema::MachineRemoval::Builder m) {
    m.setMachine(data(v.machine));
    m.setName(v.name);
  });
}

std::optional<MachineRemovalValue> decode_machine_removal(std::string_view bytes) {
  return parse<schema::MachineRemoval>(bytes, [](schema::MachineRemoval::Reader m) -> std::optional<MachineRemovalValue> {
    MachineRemovalValue v;
    if (!read_key(m.getMachine(), v.machine)) return std::nullopt;
    v.name = text(m.getName());
    return v;
  });
}

std::string encode_value(const SubnetClaimValue& v) {
  return build<schema::SubnetClaim>(
      [&](schema::SubnetClaim::Builder c) { c.setSubnet(v.subnet.to_string()); });
}

std::optional<SubnetClaimValue> decode_subnet_claim(std::string_view bytes) {
  return parse<schema::SubnetClaim>(
      bytes, [](schema::SubnetClaim::Reader c) -> std::optional<SubnetClaimValue> {
        auto net = Ipv4Net::parse(text(c.getSubnet()));
        if (!net || net->prefix != 24) return std::nullopt;
        return SubnetClaimValue{*net};
      });
}

std::string encode_value(const EndpointCandidatesValue& v) {
  return build<schema::EndpointCandidates>([&](schema::EndpointCandidates::Builder c) {
    auto list = c.initCandidates(v.candidates.size());
    for (size_t i = 0; i < v.candidates.size(); ++i) set_endpoint(list[i], v.candidates[i]);
  });
}

std::optional<EndpointCandidatesValue> decode_endpoint_candidates(std::string_view bytes) {
  return parse<schema::EndpointCandidates>(
      bytes, [](schema::EndpointCandidates::Reader c) -> std::optional<EndpointCandidatesValue> {
        EndpointCandidatesValue v;
        for (auto e : c.getCandidates()) v.candidates.push_back(get_endpoint(e));
        return v;
      });
}

std::string encode_value(const ObservedEndpointValue& v) {
  return build<schema::ObservedEndpoints>([&](schema::ObservedEndpoints::Builder o) {
    o.setPeer(data(v.peer));
    set_endpoint(o.initEndpoint(), v.endpoint);
  });
}

std::optional<ObservedEndpointValue> decode_observed_endpoint(std::string_view bytes) {
  return parse<schema::ObservedEndpoints>(
      bytes, [](schema::ObservedEndpoints::Reader o) -> std::optional<ObservedEndpointValue> {
        ObservedEndpointValue v;
        if (!read_key(o.getPeer(), v.peer)) return std::nullopt;
        v.endpoint = get_endpoint(o.getEndpoint());
        return v;
      });
}

std::string encode_value(const ContainerLeaseValue& v) {
  return build<schema::ContainerLease>([&](schema::ContainerLease::Builder l) {
    l.setAddress(v.address.to_string());
    l.setContainerId(v.container_id);
    l.setContainerName(v.container_name);
  });
}

std::optional<ContainerLeaseValue> decode_container_lease(std::string_view bytes) {
  return parse<schema::ContainerLease>(
      bytes, [](schema::ContainerLease::Reader l) -> std::optional<ContainerLeaseValue> {
        auto ip = Ipv4::parse(text(l.getAddress()));
        if (!ip) return std::nullopt;
        return ContainerLeaseValue{*ip, text(l.getContainerId()), text(l.getContainerName())};
      });
}

std::string encode_value(const ServiceInstanceValue& v) {
  return build<schema::ServiceInstance>([&](schema::ServiceInstance::Builder s) {
    s.setService(v.service);
    s.setAddress(v.address);
    s.setPort(v.port);
    s.setProtocol(v.protocol);
    s.setPortName(v.port_name);
    s.setHealthy(v.healthy);
  });
}

std::optional<ServiceInstanceValue> decode_service_instance(std::string_view bytes) {
  return parse<schema::ServiceInstance>(
      bytes, [](schema::ServiceInstance::Reader s) -> std::optional<ServiceInstanceValue> {
        ServiceInstanceValue v{text(s.getService()), text(s.getAddress()), s.getPort(),
                               text(s.getProtocol()), text(s.getPortName()), s.getHealthy()};
        if (v.service.empty() || !Ipv4::parse(v.address)) return std::nullopt;
        return v;
      });
}

std::string encode_value(const AccessSessionValue& v) {
  return build<schema::AccessSession>([&](schema::AccessSession::Builder a) {
    a.setLabel(v.label);
    a.setAddress(v.address);
    a.setClientKey(data(v.client_key));
    a.setExpiresMs(v.expires_ms);
    auto targets = a.initTargets(static_cast<unsigned>(v.targets.size()));
    for (unsigned i = 0; i < v.targets.size(); ++i) targets.set(i, v.targets[i]);
    a.setGrantedMs(v.granted_ms);
  });
}

std::optional<AccessSessionValue> decode_access_session(std::string_view bytes) {
  return parse<schema::AccessSession>(
      bytes, [](schema::AccessSession::Reader a) -> std::optional<AccessSessionValue> {
        AccessSessionValue v;
        v.label = text(a.getLabel());
        v.address = text(a.getAddress());
        if (!read_key(a.getClientKey(), v.client_key)) return std::nullopt;
        v.expires_ms = a.getExpiresMs();
        for (auto t : a.getTargets()) v.targets.push_back(text(t));
        v.granted_ms = a.getGrantedMs();
        if (!Ipv4Net::parse(v.address) && !Ipv4::parse(v.address)) return std::nullopt;
        return v;
      });
}

std::string subnet_claim_name(const Ipv4Net& subnet) { return subnet.to_string(); }
std::string container_lease_name(const Ipv4& address) { return address.to_string(); }
std::string machine_removal_name(const OwnerId& machine) { return to_hex(machine); }

bool check_value(const Record& record) {
  if (record.tombstone) return record.value.empty();
  const auto& key = record.key;
  switch (key.kind) {
    case Kind::machine: {
      auto v = decode_machine(record.value);
      return v && key.name == kMachineRecordName && v->signing_key == key.owner && valid_machine_name(v->name);
    }
    case Kind::subnet_claim: {
      auto v = decode_subnet_claim(record.value);
      return v && key.name == subnet_claim_name(v->subnet);
    }
    case Kind::endpoint_candidates:
      return decode_endpoint_candidates(record.value).has_value();
    case Kind::observed_endpoints:
      return decode_observed_endpoint(record.value).has_value();
    case Kind::container_lease: {
      auto v = decode_container_lease(record.value);
      return v && key.name == container_lease_name(v->address);
    }
    case Kind::service_instance: {
      auto v = decode_service_instance(record.value);
      return v && valid_service_name(v->service) && (v->port_name.empty() || valid_service_name(v->port_name));
    }
    case Kind::access_session:
      return decode_access_session(record.value).has_value();
    case Kind::machine_removal: {
      auto v = decode_machine_removal(record.value);
      return v && key.name == machine_removal_name(v->machine) && v->machine != key.owner;
    }
  }
  return false;
}

bool valid_machine_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

bool valid_service_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return s.front() != '-' && s.back() != '-';
}

}  // namespace weft::crdt
