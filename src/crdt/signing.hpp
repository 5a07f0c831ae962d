// Ed25519 signing of records (libsodium). Key generation from a seed keeps the cores
// deterministic: the simulator derives seeds from its RNG, the agent from randombytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "crdt/digest.hpp"
#include "crdt/record.hpp"

namespace weft::crdt {

using SigningSeed = std::array<uint8_t, 32>;

class SigningKey {
 public:
  static SigningKey from_seed(const SigningSeed& seed);
  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey();

  const OwnerId& public_key() const { return public_key_; }
  const SigningSeed& seed() const { return seed_; }  // the secret: persist 0600, never send
  Signature sign(const std::string& message) const;
  void sign(Record& record) const;  // sets record.signature

 private:
  SigningKey() = default;
  SigningSeed seed_{};
  std::array<uint8_t, 64> secret_key_{};
  OwnerId public_key_{};
};

// True when the record's signature verifies against its owner (the key in key.owner).
bool verify(const Record& record);

// Records already found good (well-formed for their kind, signature verified), keyed by their
// signature; a hit must be byte-identical in every field. It hands out the one shared copy of
// each such record. The simulator shares one memo among all its replicas: a record is then
// decoded, checked, hashed and stored once per process, not once per simulated machine (the
// checks were the whole cost of merging, the copies most of the memory). Results are the same
// with or without it. It keeps every record it saw; not thread-safe.
class VerifyMemo {
 public:
  // The shared copy of this exact record, or null when it was never admitted.
  RecordRef find(const Record& record) const;
  // Remembers a record found good (the caller ran the checks).
  void admit(const RecordRef& record);
  // Signature check only (no value check): through the memo's good records, else libsodium.
  bool verify(const Record& record) const;
  size_t size() const { return good_.size(); }
  // The owner slots those records are held in, shared the same way.
  SlotMemo& slots() { return slots_; }

 private:
  struct SignatureHash {
    size_t operator()(const Signature& s) const noexcept { return static_cast<size_t>(prefix64(s.data())); }
  };
  std::unordered_map<Signature, RecordRef, SignatureHash> good_;
  SlotMemo slots_;
};
// verify() through the memo when there is one.
inline bool verify(const Record& record, VerifyMemo* memo) { return memo ? memo->verify(record) : verify(record); }

// libsodium must be initialised once per process before any crypto call; idempotent.
void ensure_sodium();

}  // namespace weft::crdt
