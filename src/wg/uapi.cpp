#include "wg/uapi.hpp"

#include <sodium.h>

#include <charconv>

#include "base/hex.hpp"

namespace weft::wg {

DeviceStatus::~DeviceStatus() {
  if (private_key) sodium_memzero(private_key->data(), private_key->size());
}

DeviceUpdate::~DeviceUpdate() {
  if (private_key) sodium_memzero(private_key->data(), private_key->size());
}

namespace {

std::string key_hex(const Key& key) { return to_hex(std::span(key.data(), key.size())); }

// Lowercase hex only, exactly 64 digits (what every UAPI daemon writes).
bool parse_key(std::string_view text, Key& out) {
  if (text.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    uint8_t byte = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[2 * i + j];
      uint8_t nibble;
      if (c >= '0' && c <= '9') nibble = static_cast<uint8_t>(c - '0');
      else if (c >= 'a' && c <= 'f') nibble = static_cast<uint8_t>(c - 'a' + 10);
      else return false;
      byte = static_cast<uint8_t>(byte << 4 | nibble);
    }
    out[i] = byte;
  }
  return true;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string encode_get() { return "get=1\n\n"; }

std::string encode_set(const DeviceUpdate& update) {
  std::string out = "set=1\n";
  if (update.private_key) {
    std::string hex = key_hex(*update.private_key);
    out += "private_key=" + hex + "\n";
    sodium_memzero(hex.data(), hex.size());
  }
  if (update.listen_port) out += "listen_port=" + std::to_string(*update.listen_port) + "\n";
  for (const auto& p : update.peers) {
    out += "public_key=" + key_hex(p.public_key) + "\n";
    if (p.remove) {
      out += "remove=true\n";
      continue;
    }
    if (p.endpoint) out += "endpoint=" + *p.endpoint + "\n";
    if (p.keepalive) out += "persistent_keepalive_interval=" + std::to_string(*p.keepalive) + "\n";
    if (p.replace_allowed_ips) out += "replace_allowed_ips=true\n";
    for (const auto& ip : p.allowed_ips) out += "allowed_ip=" + ip + "\n";
  }
  out += "\n";
  return out;
}

bool reply_complete(std::string_view text) {
  if (text.size() < 2 || text.substr(text.size() - 2) != "\n\n") return false;
  size_t line_start = text.rfind('\n', text.size() - 3);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  return text.substr(line_start).starts_with("errno=");
}

std::optional<UapiReply> parse_reply(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<UapiReply> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  UapiReply reply;
  PeerStatus* peer = nullptr;
  bool have_errno = false;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return fail("reply ends without a newline");
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) {
      if (!have_errno) return fail("blank line before errno");
      if (pos != text.size()) return fail("bytes after the end of the reply");
      return reply;
    }
    if (have_errno) return fail("line " + std::to_string(line_no) + " after errno");
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return fail("line " + std::to_string(line_no) + " is not key=value");
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    auto bad = [&] { return fail("bad " + std::string(key) + " on line " + std::to_string(line_no)); };
    if (key == "errno") {
      // Daemons write errno as a positive or (wireguard-go) negative number.
      int n = 0;
      std::string_view digits = value;
      bool negative = !digits.empty() && digits[0] == '-';
      if (negative) digits.remove_prefix(1);
      if (!parse_number(digits, n)) return bad();
      reply.errno_value = n;
      have_errno = true;
    } else if (key == "private_key") {
      Key k{};
      if (peer || !parse_key(value, k)) return bad();
      reply.status.private_key = k;
      sodium_memzero(k.data(), k.size());
    } else if (key == "listen_port") {
      if (peer || !parse_number(value, reply.status.listen_port)) return bad();
    } else if (key == "fwmark") {
      if (peer || !parse_number(value, reply.status.fwmark)) return bad();
    } else if (key == "public_key") {
      PeerStatus p;
      if (!parse_key(value, p.public_key)) return bad();
      reply.status.peers.push_back(std::move(p));
      peer = &reply.status.peers.back();
    } else if (key == "endpoint" || key == "persistent_keepalive_interval" || key == "allowed_ip" ||
               key == "last_handshake_time_sec" || key == "last_handshake_time_nsec" || key == "rx_bytes" ||
               key == "tx_bytes") {
      if (!peer) return fail(std::string(key) + " before any public_key on line " + std::to_string(line_no));
      bool ok = true;
      if (key == "endpoint") {
        ok = !value.empty() && value.size() <= 64 && value.find(':') != std::string_view::npos;
        peer->endpoint = value;
      } else if (key == "persistent_keepalive_interval") {
        ok = parse_number(value, peer->keepalive);
      } else if (key == "allowed_ip") {
        ok = !value.empty() && value.size() <= 64 && value.find('/') != std::string_view::npos;
        peer->allowed_ips.emplace_back(value);
      } else if (key == "last_handshake_time_sec") {
        ok = parse_number(value, peer->last_handshake_sec);
      } else if (key == "last_handshake_time_nsec") {
        ok = parse_number(value, peer->last_handshake_nsec);
      } else if (key == "rx_bytes") {
        ok = parse_number(value, peer->rx_bytes);
      } else {
        ok = parse_number(value, peer->tx_bytes);
      }
      if (!ok) return bad();
    }
    // Anything else (preshared_key, protocol_version, keys of newer daemons) is not ours to read.
  }
  return fail(have_errno ? "reply ends without the closing blank line" : "reply ends without errno");
}

}  // namespace weft::wg
