#include "agent/address.hpp"

#include <algorithm>
#include <charconv>

namespace weft::agent {

std::optional<HostPort> parse_host_port(const std::string& text) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  // No zone id ("%eth0"): a control address is handed to other machines (tokens, records), and an
  // interface scope names an interface of this machine only, so it means nothing there.
  if (host.find('%') != std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(host, ec);
  unsigned p = 0;
  auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec || port.empty() || perr != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535)
    return std::nullopt;
  return HostPort{ip, static_cast<uint16_t>(p)};
}

std::string format_host_port(const boost::asio::ip::address& ip, uint16_t port) {
  return ip.is_v6() ? "[" + ip.to_string() + "]:" + std::to_string(port) : ip.to_string() + ":" + std::to_string(port);
}

stun::Address to_stun(boost::asio::ip::address ip, uint16_t port) {
  stun::Address a;
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) ip = ip.to_v6().to_v4();
  a.port = port;
  if (ip.is_v4()) {
    auto b = ip.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
  } else {
    a.v6 = true;
    auto b = ip.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
  }
  return a;
}

boost::asio::ip::udp::endpoint from_stun(const stun::Address& a) {
  namespace ip = boost::asio::ip;
  if (a.v6) {
    ip::address_v6::bytes_type b;
    std::copy(a.ip.begin(), a.ip.end(), b.begin());
    return ip::udp::endpoint(ip::address_v6(b), a.port);
  }
  return ip::udp::endpoint(ip::address_v4({a.ip[0], a.ip[1], a.ip[2], a.ip[3]}), a.port);
}

}  // namespace weft::agent
