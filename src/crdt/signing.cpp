#include "crdt/signing.hpp"

#include <sodium.h>

#include <stdexcept>

namespace weft::crdt {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

SigningKey SigningKey::from_seed(const SigningSeed& seed) {
  ensure_sodium();
  SigningKey key;
  key.seed_ = seed;
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_key_.data(), seed.data());
  return key;
}

SigningKey::~SigningKey() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
  sodium_memzero(seed_.data(), seed_.size());
}

Signature SigningKey::sign(const std::string& message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_key_.data());
  return sig;
}

void SigningKey::sign(Record& record) const { record.signature = sign(canonical_bytes(record)); }

bool verify(const Record& record) {
  ensure_sodium();
  std::string message = canonical_bytes(record);
  return crypto_sign_verify_detached(record.signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), record.key.owner.data()) == 0;
}

RecordRef VerifyMemo::find(const Record& record) const {
  auto it = good_.find(record.signature);
  return it != good_.end() && it->second->record == record ? it->second : nullptr;
}

void VerifyMemo::admit(const RecordRef& record) { good_.try_emplace(record->record.signature, record); }

bool VerifyMemo::verify(const Record& record) const { return find(record) || crdt::verify(record); }

}  // namespace weft::crdt
