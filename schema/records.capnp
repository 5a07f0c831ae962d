@0xc2f10983e07930b9;
# Replicated cluster state: the wire and disk form of signed records and their values.
# A record's value is stored as the bytes of one of the value structs below, so the
# signature covers exactly the bytes that travel; nothing needs canonicalising.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("weft::schema");

enum Kind {
  machine @0;
  subnetClaim @1;
  endpointCandidates @2;
  observedEndpoints @3;
  containerLease @4;
  serviceInstance @5;
  accessSession @6;
  machineRemoval @7;
}

struct SignedRecord {
  kind @0 :Kind;
  owner @1 :Data;       # owner's Ed25519 public key, 32 bytes: also the machine id
  name @2 :Text;
  hlc @3 :UInt64;       # 48-bit milliseconds << 16 | 16-bit counter
  tombstone @4 :Bool;
  value @5 :Data;       # bytes of the kind's value struct (empty for tombstones)
  signature @6 :Data;   # Ed25519 over the canonical form (src/crdt/record.cpp)
}

struct RecordBatch {
  records @0 :List(SignedRecord);
}

struct Endpoint {
  ip @0 :Text;          # textual IPv4 or IPv6 address
  port @1 :UInt16;
}

struct Machine {
  name @0 :Text;
  wireguardKey @1 :Data;    # X25519 public key, 32 bytes
  signingKey @2 :Data;      # Ed25519 public key, 32 bytes (equals the record owner)
  controlAddress @3 :Endpoint;
  relayCapable @4 :Bool;
  version @5 :Text;
}

struct SubnetClaim {
  subnet @0 :Text;          # "10.210.7.0/24"
}

struct EndpointCandidates {
  candidates @0 :List(Endpoint);
}

struct ObservedEndpoints {
  # What this machine's WireGuard device sees as the peer's endpoint.
  peer @0 :Data;            # peer machine id
  endpoint @1 :Endpoint;
}

struct ContainerLease {
  address @0 :Text;         # "10.210.7.2"
  containerId @1 :Text;
  containerName @2 :Text;
}

struct ServiceInstance {
  service @0 :Text;
  address @1 :Text;
  port @2 :UInt16;          # 0 = no port
  protocol @3 :Text;        # "tcp", "udp" or empty
  portName @4 :Text;
  healthy @5 :Bool;
}

struct AccessSession {
  label @0 :Text;
  address @1 :Text;         # the session's /32
  clientKey @2 :Data;       # client's WireGuard public key
  expiresMs @3 :UInt64;     # unix milliseconds
  targets @4 :List(Text);   # what it may reach: service names or IP[:PORT]; empty: the machine's /24
  grantedMs @5 :UInt64;     # unix milliseconds
}

struct MachineRemoval {
  # Written by the member that ran `weft machine rm`: every member forgets the machine, drops
  # its records and refuses its future ones; its /24 becomes free. Permanent for that id.
  machine @0 :Data;         # the removed machine's id
  name @1 :Text;            # its name when removed, for humans
}
