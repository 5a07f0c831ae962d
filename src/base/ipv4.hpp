// IPv4 addresses and prefixes of the cluster network: parsing, printing, containment.
// Kept tiny and allocation-free so the pure cores can use it on hot paths.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft {

struct Ipv4 {
  uint32_t value = 0;  // host byte order
  static std::optional<Ipv4> parse(std::string_view text);
  std::string to_string() const;
  auto operator<=>(const Ipv4&) const = default;
};

struct Ipv4Net {
  Ipv4 base;           // masked: host bits are zero
  uint8_t prefix = 0;  // 0..32
  // Rejects host bits set ("10.210.0.5/16") so a typo is an error, not a silent mask.
  static std::optional<Ipv4Net> parse(std::string_view text);
  std::string to_string() const;
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == base.value; }
  bool contains(const Ipv4Net& inner) const { return inner.prefix >= prefix && contains(inner.base); }
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  auto operator<=>(const Ipv4Net&) const = default;
};

}  // namespace weft
