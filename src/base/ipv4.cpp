#include "base/ipv4.hpp"

#include <charconv>

namespace weft {

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (*p == '0' && p + 1 != end && p[1] >= '0' && p[1] <= '9') return std::nullopt;
    unsigned part = 0;
    auto [next, ec] = std::from_chars(p, end, part);
    if (ec != std::errc{} || part > 255) return std::nullopt;
    value = value << 8 | part;
    p = next;
  }
  if (p != end) return std::nullopt;
  return Ipv4{value};
}

std::string Ipv4::to_string() const {
  return std::to_string(value >> 24) + '.' + std::to_string(value >> 16 & 0xff) + '.' +
         std::to_string(value >> 8 & 0xff) + '.' + std::to_string(value & 0xff);
}

std::optional<Ipv4Net> Ipv4Net::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = Ipv4::parse(text.substr(0, slash));
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [next, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (!ip || len_text.empty() || ec != std::errc{} || next != len_text.data() + len_text.size() ||
      len > 32)
    return std::nullopt;
  Ipv4Net net{*ip, static_cast<uint8_t>(len)};
  if ((ip->value & net.mask()) != ip->value) return std::nullopt;
  return net;
}

std::string Ipv4Net::to_string() const { return base.to_string() + '/' + std::to_string(prefix); }

}  // namespace weft
