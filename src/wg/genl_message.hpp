// Kernel WireGuard's generic netlink messages (family "wireguard", linux/wireguard.h), built
// and parsed with libnl but never sent here: netlink_device.cpp moves them.
//   set: WG_CMD_SET_DEVICE with the interface name, key, port and nested peers. A large update
//        is split over several messages, each under max_bytes (the kernel applies each in turn);
//        a peer never straddles two messages.
//   get: a WG_CMD_GET_DEVICE dump; the kernel may split one peer's allowed IPs over two
//        messages, in which case the next message repeats that peer's public key first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wg/device.hpp"

struct nl_msg;

namespace weft::wg {

struct NlMsgFree {
  void operator()(nl_msg* m) const;
};
using NlMsg = std::unique_ptr<nl_msg, NlMsgFree>;

// Throws DeviceError for an update that cannot be encoded (a bad endpoint or allowed IP).
std::vector<NlMsg> build_set_messages(int family, const std::string& ifname, const DeviceUpdate& update,
                                      size_t max_bytes = 16384);
NlMsg build_get_message(int family, const std::string& ifname);

// Parses the attributes of one get-reply message (the bytes after the genl header) into
// `status`, continuing the last peer when the message repeats its key. False with *error for
// malformed attributes.
bool parse_device_attributes(const uint8_t* data, size_t len, DeviceStatus& status, std::string* error);

// "IP:PORT" / "[IPv6]:PORT" <-> sockaddr bytes as WGPEER_A_ENDPOINT carries them.
bool endpoint_to_sockaddr(const std::string& endpoint, std::vector<uint8_t>& out);
std::string sockaddr_to_endpoint(const uint8_t* data, size_t len);
// "10.210.1.0/24" -> family, address bytes, prefix.
bool parse_allowed_ip(const std::string& text, uint16_t& family, std::vector<uint8_t>& address, uint8_t& cidr);

}  // namespace weft::wg
