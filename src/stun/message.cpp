#include "stun/message.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace weft::stun {

namespace {

constexpr uint32_t kFingerprintXor = 0x5354554e;

uint32_t crc32(std::span<const uint8_t> data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint16_t u16(std::span<const uint8_t> b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t u32(std::span<const uint8_t> b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// The XOR mask of an address: the magic cookie, then (IPv6) the 96-bit transaction id.
std::array<uint8_t, 16> xor_mask(const std::array<uint8_t, 16>& transaction) {
  std::array<uint8_t, 16> mask = transaction;
  mask[0] = 0x21;
  mask[1] = 0x12;
  mask[2] = 0xA4;
  mask[3] = 0x42;
  return mask;
}

std::optional<Address> read_address(std::span<const uint8_t> v, bool xored, const std::array<uint8_t, 16>& transaction) {
  if (v.size() < 4) return std::nullopt;
  uint8_t family = v[1];
  Address a;
  a.port = u16(v, 2);
  size_t len;
  if (family == 0x01) len = 4;
  else if (family == 0x02) len = 16, a.v6 = true;
  else return std::nullopt;
  if (v.size() != 4 + len) return std::nullopt;
  std::memcpy(a.ip.data(), v.data() + 4, len);
  if (xored) {
    a.port ^= static_cast<uint16_t>(kMagicCookie >> 16);
    auto mask = xor_mask(transaction);
    for (size_t i = 0; i < len; ++i) a.ip[i] ^= mask[i];
  }
  return a;
}

void write_address(std::vector<uint8_t>& out, uint16_t type, const Address& a, bool xored,
                   const std::array<uint8_t, 16>& transaction) {
  size_t len = a.v6 ? 16 : 4;
  put16(out, type);
  put16(out, static_cast<uint16_t>(4 + len));
  out.push_back(0);
  out.push_back(a.v6 ? 0x02 : 0x01);
  uint16_t port = xored ? static_cast<uint16_t>(a.port ^ (kMagicCookie >> 16)) : a.port;
  put16(out, port);
  auto mask = xor_mask(transaction);
  for (size_t i = 0; i < len; ++i) out.push_back(xored ? static_cast<uint8_t>(a.ip[i] ^ mask[i]) : a.ip[i]);
}

void write_bytes(std::vector<uint8_t>& out, uint16_t type, const void* data, size_t len) {
  put16(out, type);
  put16(out, static_cast<uint16_t>(len));
  const auto* p = static_cast<const uint8_t*>(data);
  out.insert(out.end(), p, p + len);
  while (out.size() % 4) out.push_back(0);
}

}  // namespace

std::string Address::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, ip.data(), text, sizeof text);
  return v6 ? "[" + std::string(text) + "]:" + std::to_string(port) : std::string(text) + ":" + std::to_string(port);
}

bool Message::has_cookie() const {
  return transaction[0] == 0x21 && transaction[1] == 0x12 && transaction[2] == 0xA4 && transaction[3] == 0x42;
}

uint16_t message_type(uint16_t method, Class cls) {
  uint16_t c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((c & 1) << 4) |
                               ((c & 2) << 7));
}

bool looks_like_stun(std::span<const uint8_t> b) {
  return b.size() >= kHeaderSize && (b[0] & 0xC0) == 0 && u16(b, 2) % 4 == 0 && u16(b, 2) + kHeaderSize == b.size();
}

std::optional<Message> parse(std::span<const uint8_t> b, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<Message> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (b.size() < kHeaderSize) return fail("shorter than a STUN header");
  if (b[0] & 0xC0) return fail("first two bits not zero");
  uint16_t type = u16(b, 0);
  size_t length = u16(b, 2);
  if (length % 4 || kHeaderSize + length != b.size()) return fail("length field disagrees with the datagram");
  Message m;
  m.method = static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  m.cls = static_cast<Class>(((type >> 4) & 1) | ((type >> 7) & 2));
  std::memcpy(m.transaction.data(), b.data() + 4, 16);
  size_t at = kHeaderSize;
  while (at < b.size()) {
    if (m.fingerprint) return fail("an attribute after FINGERPRINT");
    if (at + 4 > b.size()) return fail("truncated attribute header");
    uint16_t t = u16(b, at), len = u16(b, at + 2);
    size_t padded = (len + 3u) & ~3u;
    if (at + 4 + padded > b.size()) return fail("attribute longer than the message");
    auto v = b.subspan(at + 4, len);
    switch (t) {
      case attr::mapped_address:
      case attr::xor_mapped_address: {
        auto a = read_address(v, t == attr::xor_mapped_address, m.transaction);
        if (!a) return fail("malformed address attribute");
        (t == attr::xor_mapped_address ? m.xor_mapped : m.mapped) = a;
        break;
      }
      case attr::error_code: {
        if (len < 4 || len > 4 + 763) return fail("malformed ERROR-CODE");
        unsigned cls = v[2] & 0x07, number = v[3];
        if (cls < 3 || cls > 6 || number > 99) return fail("ERROR-CODE out of range");
        m.error = static_cast<uint16_t>(cls * 100 + number);
        m.reason.assign(v.begin() + 4, v.end());
        break;
      }
      case attr::unknown_attributes:
        if (len % 2) return fail("malformed UNKNOWN-ATTRIBUTES");
        for (size_t i = 0; i < len; i += 2) m.unknown_attributes.push_back(u16(v, i));
        break;
      case attr::change_request:
        if (len != 4) return fail("malformed CHANGE-REQUEST");
        m.change_request = u32(b, at + 4);
        break;
      case attr::software:
        if (len > 763) return fail("SOFTWARE too long");
        m.software.assign(v.begin(), v.end());
        break;
      case attr::fingerprint: {
        if (len != 4) return fail("malformed FINGERPRINT");
        // The CRC covers the message up to this attribute, with the header length as sent
        // (which includes the FINGERPRINT itself).
        if ((crc32(b.subspan(0, at)) ^ kFingerprintXor) != u32(b, at + 4)) return fail("wrong FINGERPRINT");
        m.fingerprint = true;
        break;
      }
      default:
        if (t < 0x8000) m.not_understood.push_back(t);  // comprehension-required
    }
    at += 4 + padded;
  }
  return m;
}

std::vector<uint8_t> encode(const Message& m) {
  std::vector<uint8_t> out;
  out.reserve(128);
  put16(out, message_type(m.method, m.cls));
  put16(out, 0);  // length, filled in below
  out.insert(out.end(), m.transaction.begin(), m.transaction.end());
  if (m.xor_mapped) write_address(out, attr::xor_mapped_address, *m.xor_mapped, true, m.transaction);
  if (m.mapped) write_address(out, attr::mapped_address, *m.mapped, false, m.transaction);
  if (m.error) {
    std::vector<uint8_t> v{0, 0, static_cast<uint8_t>(*m.error / 100), static_cast<uint8_t>(*m.error % 100)};
    v.insert(v.end(), m.reason.begin(), m.reason.end());
    write_bytes(out, attr::error_code, v.data(), v.size());
  }
  if (!m.unknown_attributes.empty()) {
    std::vector<uint8_t> v;
    for (uint16_t t : m.unknown_attributes) put16(v, t);
    write_bytes(out, attr::unknown_attributes, v.data(), v.size());
  }
  if (m.change_request) {
    std::vector<uint8_t> v;
    put32(v, *m.change_request);
    write_bytes(out, attr::change_request, v.data(), v.size());
  }
  if (!m.software.empty()) write_bytes(out, attr::software, m.software.data(), std::min<size_t>(m.software.size(), 763));
  auto set_length = [&](size_t extra) {
    size_t len = out.size() - kHeaderSize + extra;
    out[2] = static_cast<uint8_t>(len >> 8);
    out[3] = static_cast<uint8_t>(len);
  };
  if (m.fingerprint) {
    set_length(8);
    uint32_t crc = crc32(out) ^ kFingerprintXor;
    put16(out, attr::fingerprint);
    put16(out, 4);
    put32(out, crc);
  }
  set_length(0);
  return out;
}

}  // namespace weft::stun
