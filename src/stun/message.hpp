// STUN messages (RFC 8489), pure: parsing and encoding of what weft uses — Binding requests and
// responses with XOR-MAPPED-ADDRESS (MAPPED-ADDRESS read, and written for RFC 3489 clients that
// send no magic cookie), ERROR-CODE, UNKNOWN-ATTRIBUTES, SOFTWARE and FINGERPRINT. Unknown
// comprehension-required attributes are listed so a server can answer 420. Anything malformed
// is refused with a reason (fuzzed: tests/fuzz/stun_message_fuzz.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace weft::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;
inline constexpr size_t kHeaderSize = 20;
inline constexpr uint16_t kBinding = 0x001;

namespace attr {
inline constexpr uint16_t mapped_address = 0x0001;
inline constexpr uint16_t change_request = 0x0003;  // RFC 5780
inline constexpr uint16_t error_code = 0x0009;
inline constexpr uint16_t unknown_attributes = 0x000A;
inline constexpr uint16_t xor_mapped_address = 0x0020;
inline constexpr uint16_t software = 0x8022;
inline constexpr uint16_t fingerprint = 0x8028;
}  // namespace attr

enum class Class : uint8_t { request = 0, indication = 1, success = 2, error = 3 };

// A transport address: IPv4 (4 bytes used) or IPv6.
struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
  std::string to_string() const;  // "1.2.3.4:5" or "[::1]:5"
  bool operator==(const Address&) const = default;
};

struct Message {
  uint16_t method = kBinding;
  Class cls = Class::request;
  // The 16 bytes after the length: the magic cookie and a 96-bit id (RFC 8489), or a 128-bit id
  // of an RFC 3489 client.
  std::array<uint8_t, 16> transaction{};
  std::optional<Address> xor_mapped;
  std::optional<Address> mapped;
  std::optional<uint16_t> error;   // e.g. 420
  std::string reason;              // ERROR-CODE's phrase
  std::vector<uint16_t> unknown_attributes;  // an UNKNOWN-ATTRIBUTES attribute's list
  std::string software;
  std::optional<uint32_t> change_request;  // RFC 5780 flags: 0x4 change IP, 0x2 change port
  bool fingerprint = false;        // present (and, when parsed, correct)
  std::vector<uint16_t> not_understood;      // comprehension-required attributes we do not know

  bool has_cookie() const;
};

// The message type field for a method and class (RFC 8489 section 5).
uint16_t message_type(uint16_t method, Class cls);

// True when the bytes can be a STUN message (first two bits zero, the cookie or a 3489 header);
// for the control port's demultiplexing.
bool looks_like_stun(std::span<const uint8_t> bytes);

std::optional<Message> parse(std::span<const uint8_t> bytes, std::string* why);
// Encodes with attributes in a fixed order; FINGERPRINT last when m.fingerprint.
std::vector<uint8_t> encode(const Message& m);

}  // namespace weft::stun
