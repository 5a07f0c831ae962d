// "ip:port" and "[v6]:port" control addresses <-> Asio endpoints.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

#include <optional>
#include <string>

#include "stun/message.hpp"

namespace weft::agent {

struct HostPort {
  boost::asio::ip::address ip;
  uint16_t port = 0;
};

std::optional<HostPort> parse_host_port(const std::string& text);
std::string format_host_port(const boost::asio::ip::address& ip, uint16_t port);

// Asio addresses <-> the STUN core's (v4-mapped IPv6 addresses become IPv4).
stun::Address to_stun(boost::asio::ip::address ip, uint16_t port);
boost::asio::ip::udp::endpoint from_stun(const stun::Address& a);

}  // namespace weft::agent
