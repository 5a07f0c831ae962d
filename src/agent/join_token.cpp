#include "agent/join_token.hpp"

#include <sodium.h>

#include <cstring>
#include <sstream>

#include "base/hex.hpp"
#include "crdt/signing.hpp"

namespace weft::agent {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

}  // namespace

std::string JoinToken::checksum(const std::string& body) {
  crdt::ensure_sodium();
  uint8_t out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const uint8_t*>(body.data()), body.size(), nullptr, 0);
  return to_hex(std::span<const uint8_t>(out, 4));
}

std::string JoinToken::encode() const {
  std::string seeds_text;
  for (size_t i = 0; i < seeds.size(); ++i) seeds_text += (i ? "," : "") + seeds[i];
  std::string body = "weft1." + to_hex(key) + "." + to_hex(cluster_id) + "." + network.to_string() + "." + seeds_text;
  return body + "." + checksum(body);
}

std::optional<JoinToken> JoinToken::decode(const std::string& text, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<JoinToken> {
    if (why) *why = reason;
    return std::nullopt;
  };
  auto dot = text.rfind('.');
  if (text.rfind("weft1.", 0) != 0 || dot == std::string::npos) return fail("not a weft join token (expected weft1.…)");
  std::string body = text.substr(0, dot);
  if (checksum(body) != text.substr(dot + 1)) return fail("join token checksum mismatch: the token was mangled");
  auto parts = split(body, '.');
  // weft1 . key . id . a.b.c.d/n (dots inside!) . seeds: re-join the network's four pieces.
  if (parts.size() < 8) return fail("join token has too few fields");
  JoinToken t;
  auto key = from_hex(parts[1]);
  auto id = from_hex(parts[2]);
  if (!key || key->size() != 32) return fail("join token cluster key is not 32 hex bytes");
  if (!id || id->size() != 16) return fail("join token cluster id is not 16 hex bytes");
  std::memcpy(t.key.data(), key->data(), 32);
  std::memcpy(t.cluster_id.data(), id->data(), 16);
  auto network = Ipv4Net::parse(parts[3] + "." + parts[4] + "." + parts[5] + "." + parts[6]);
  if (!network || network->prefix > 24) return fail("join token network is not an IPv4 prefix of /24 or shorter");
  t.network = *network;
  std::string seeds;
  for (size_t i = 7; i < parts.size(); ++i) seeds += (i > 7 ? "." : "") + parts[i];
  for (const auto& s : split(seeds, ','))
    if (!s.empty()) t.seeds.push_back(s);
  return t;
}

}  // namespace weft::agent
