#include "wg/genl_message.hpp"

#include <arpa/inet.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sodium.h>

#include <charconv>
#include <cstring>

namespace weft::wg {

void NlMsgFree::operator()(nl_msg* m) const { nlmsg_free(m); }

bool endpoint_to_sockaddr(const std::string& endpoint, std::vector<uint8_t>& out) {
  size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = endpoint.substr(0, colon), port_text = endpoint.substr(colon + 1);
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty()) return false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &sa.sin6_addr) != 1) return false;
    out.assign(reinterpret_cast<uint8_t*>(&sa), reinterpret_cast<uint8_t*>(&sa) + sizeof sa);
    return true;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
  out.assign(reinterpret_cast<uint8_t*>(&sa), reinterpret_cast<uint8_t*>(&sa) + sizeof sa);
  return true;
}

std::string sockaddr_to_endpoint(const uint8_t* data, size_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (len >= sizeof(sockaddr_in)) {
    sa_family_t family;
    std::memcpy(&family, data, sizeof family);
    if (family == AF_INET) {
      sockaddr_in sa;
      std::memcpy(&sa, data, sizeof sa);
      inet_ntop(AF_INET, &sa.sin_addr, text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(sa.sin_port));
    }
    if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
      sockaddr_in6 sa;
      std::memcpy(&sa, data, sizeof sa);
      inet_ntop(AF_INET6, &sa.sin6_addr, text, sizeof text);
      return "[" + std::string(text) + "]:" + std::to_string(ntohs(sa.sin6_port));
    }
  }
  return "";
}

bool parse_allowed_ip(const std::string& text, uint16_t& family, std::vector<uint8_t>& address, uint8_t& cidr) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return false;
  std::string host = text.substr(0, slash), bits = text.substr(slash + 1);
  unsigned n = 0;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
  if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty()) return false;
  uint8_t buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1 && n <= 32) {
    family = AF_INET;
    address.assign(buf, buf + 4);
  } else if (inet_pton(AF_INET6, host.c_str(), buf) == 1 && n <= 128) {
    family = AF_INET6;
    address.assign(buf, buf + 16);
  } else {
    return false;
  }
  cidr = static_cast<uint8_t>(n);
  return true;
}

namespace {

NlMsg new_message(int family, const std::string& ifname, uint8_t cmd, int flags, size_t size) {
  NlMsg msg(nlmsg_alloc_size(size));
  if (!msg) throw DeviceError("out of memory building a netlink message");
  if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, WG_GENL_VERSION) ||
      nla_put_string(msg.get(), WGDEVICE_A_IFNAME, ifname.c_str()) < 0)
    throw DeviceError("netlink message too small for its header");
  return msg;
}

// Appends one peer; false (and nothing appended) when it does not fit.
bool put_peer(nl_msg* msg, const PeerUpdate& p, int index) {
  nlattr* peer = nla_nest_start(msg, index);
  if (!peer) return false;
  auto fail = [&] {
    nla_nest_cancel(msg, peer);
    return false;
  };
  if (nla_put(msg, WGPEER_A_PUBLIC_KEY, static_cast<int>(p.public_key.size()), p.public_key.data()) < 0) return fail();
  uint32_t flags = 0;
  if (p.remove) flags |= WGPEER_F_REMOVE_ME;
  if (!p.remove && p.replace_allowed_ips) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
  if (nla_put_u32(msg, WGPEER_A_FLAGS, flags) < 0) return fail();
  if (!p.remove) {
    if (p.endpoint) {
      std::vector<uint8_t> sa;
      if (!endpoint_to_sockaddr(*p.endpoint, sa)) throw DeviceError("bad endpoint " + *p.endpoint);
      if (nla_put(msg, WGPEER_A_ENDPOINT, static_cast<int>(sa.size()), sa.data()) < 0) return fail();
    }
    if (p.keepalive && nla_put_u16(msg, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, *p.keepalive) < 0) return fail();
    if (!p.allowed_ips.empty()) {
      nlattr* ips = nla_nest_start(msg, WGPEER_A_ALLOWEDIPS);
      if (!ips) return fail();
      int i = 0;
      for (const auto& text : p.allowed_ips) {
        uint16_t family;
        std::vector<uint8_t> address;
        uint8_t cidr;
        if (!parse_allowed_ip(text, family, address, cidr)) throw DeviceError("bad allowed IP " + text);
        nlattr* ip = nla_nest_start(msg, i++);
        if (!ip || nla_put_u16(msg, WGALLOWEDIP_A_FAMILY, family) < 0 ||
            nla_put(msg, WGALLOWEDIP_A_IPADDR, static_cast<int>(address.size()), address.data()) < 0 ||
            nla_put_u8(msg, WGALLOWEDIP_A_CIDR_MASK, cidr) < 0)
          return fail();
        nla_nest_end(msg, ip);
      }
      nla_nest_end(msg, ips);
    }
  }
  nla_nest_end(msg, peer);
  return true;
}

}  // namespace

std::vector<NlMsg> build_set_messages(int family, const std::string& ifname, const DeviceUpdate& update, size_t max_bytes) {
  std::vector<NlMsg> out;
  NlMsg msg = new_message(family, ifname, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, max_bytes);
  if (update.private_key && nla_put(msg.get(), WGDEVICE_A_PRIVATE_KEY, 32, update.private_key->data()) < 0)
    throw DeviceError("netlink message too small");
  if (update.listen_port && nla_put_u16(msg.get(), WGDEVICE_A_LISTEN_PORT, *update.listen_port) < 0)
    throw DeviceError("netlink message too small");
  bool has_content = update.private_key || update.listen_port;
  size_t next = 0;
  while (next < update.peers.size()) {
    nlattr* peers = nla_nest_start(msg.get(), WGDEVICE_A_PEERS);
    size_t first = next;
    if (peers)
      while (next < update.peers.size() && put_peer(msg.get(), update.peers[next], static_cast<int>(next - first))) ++next;
    if (next == first) {
      if (peers) nla_nest_cancel(msg.get(), peers);
      if (!has_content) throw DeviceError("a peer does not fit in a netlink message of " + std::to_string(max_bytes) + " bytes");
    } else {
      nla_nest_end(msg.get(), peers);
    }
    if (next < update.peers.size()) {  // the rest goes in the next message
      out.push_back(std::move(msg));
      msg = new_message(family, ifname, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, max_bytes);
      has_content = false;
    }
  }
  out.push_back(std::move(msg));
  return out;
}

NlMsg build_get_message(int family, const std::string& ifname) {
  return new_message(family, ifname, WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 4096);
}

bool parse_device_attributes(const uint8_t* data, size_t len, DeviceStatus& status, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (len > INT32_MAX) return fail("message too large");
  // nla_parse reads through a non-const pointer but does not write.
  auto* head = reinterpret_cast<nlattr*>(const_cast<uint8_t*>(data));
  nlattr* tb[WGDEVICE_A_MAX + 1] = {};
  if (nla_parse(tb, WGDEVICE_A_MAX, head, static_cast<int>(len), nullptr) < 0) return fail("malformed device attributes");
  if (tb[WGDEVICE_A_PRIVATE_KEY]) {
    if (nla_len(tb[WGDEVICE_A_PRIVATE_KEY]) != 32) return fail("private key of the wrong size");
    Key k;
    std::memcpy(k.data(), nla_data(tb[WGDEVICE_A_PRIVATE_KEY]), 32);
    status.private_key = k;
    sodium_memzero(k.data(), k.size());
  }
  if (tb[WGDEVICE_A_LISTEN_PORT]) {
    if (nla_len(tb[WGDEVICE_A_LISTEN_PORT]) < 2) return fail("short listen port");
    status.listen_port = nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
  }
  if (tb[WGDEVICE_A_FWMARK]) {
    if (nla_len(tb[WGDEVICE_A_FWMARK]) < 4) return fail("short fwmark");
    status.fwmark = nla_get_u32(tb[WGDEVICE_A_FWMARK]);
  }
  if (!tb[WGDEVICE_A_PEERS]) return true;
  nlattr* peer_attr;
  int rem;
  nla_for_each_nested(peer_attr, tb[WGDEVICE_A_PEERS], rem) {
    nlattr* p[WGPEER_A_MAX + 1] = {};
    if (nla_parse_nested(p, WGPEER_A_MAX, peer_attr, nullptr) < 0) return fail("malformed peer");
    if (!p[WGPEER_A_PUBLIC_KEY] || nla_len(p[WGPEER_A_PUBLIC_KEY]) != 32) return fail("peer without a 32-byte public key");
    Key key;
    std::memcpy(key.data(), nla_data(p[WGPEER_A_PUBLIC_KEY]), 32);
    // A peer continued from the previous message: the kernel repeats its key first.
    if (status.peers.empty() || status.peers.back().public_key != key) {
      status.peers.emplace_back();
      status.peers.back().public_key = key;
    }
    PeerStatus& peer = status.peers.back();
    if (p[WGPEER_A_ENDPOINT]) peer.endpoint = sockaddr_to_endpoint(static_cast<const uint8_t*>(nla_data(p[WGPEER_A_ENDPOINT])),
                                                                   static_cast<size_t>(nla_len(p[WGPEER_A_ENDPOINT])));
    if (p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
      if (nla_len(p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) < 2) return fail("short keepalive");
      peer.keepalive = nla_get_u16(p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    }
    if (p[WGPEER_A_LAST_HANDSHAKE_TIME]) {
      if (nla_len(p[WGPEER_A_LAST_HANDSHAKE_TIME]) < 16) return fail("short handshake time");
      int64_t t[2];
      std::memcpy(t, nla_data(p[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof t);
      peer.last_handshake_sec = t[0] > 0 ? static_cast<uint64_t>(t[0]) : 0;
      peer.last_handshake_nsec = t[1] > 0 ? static_cast<uint64_t>(t[1]) : 0;
    }
    for (auto [attr, field] : {std::pair{WGPEER_A_RX_BYTES, &peer.rx_bytes}, std::pair{WGPEER_A_TX_BYTES, &peer.tx_bytes}}) {
      if (!p[attr]) continue;
      if (nla_len(p[attr]) < 8) return fail("short byte counter");
      *field = nla_get_u64(p[attr]);
    }
    if (p[WGPEER_A_ALLOWEDIPS]) {
      nlattr* ip_attr;
      int rem_ip;
      nla_for_each_nested(ip_attr, p[WGPEER_A_ALLOWEDIPS], rem_ip) {
        nlattr* a[WGALLOWEDIP_A_MAX + 1] = {};
        if (nla_parse_nested(a, WGALLOWEDIP_A_MAX, ip_attr, nullptr) < 0) return fail("malformed allowed IP");
        if (!a[WGALLOWEDIP_A_FAMILY] || !a[WGALLOWEDIP_A_IPADDR] || !a[WGALLOWEDIP_A_CIDR_MASK] ||
            nla_len(a[WGALLOWEDIP_A_FAMILY]) < 2 || nla_len(a[WGALLOWEDIP_A_CIDR_MASK]) < 1)
          return fail("incomplete allowed IP");
        uint16_t family = nla_get_u16(a[WGALLOWEDIP_A_FAMILY]);
        int want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;
        if (want < 0 || nla_len(a[WGALLOWEDIP_A_IPADDR]) != want) return fail("allowed IP of an unknown family or size");
        uint8_t cidr = nla_get_u8(a[WGALLOWEDIP_A_CIDR_MASK]);
        if (cidr > want * 8) return fail("allowed IP prefix too long");
        char text[INET6_ADDRSTRLEN] = {};
        inet_ntop(family, nla_data(a[WGALLOWEDIP_A_IPADDR]), text, sizeof text);
        peer.allowed_ips.push_back(std::string(text) + "/" + std::to_string(cidr));
      }
    }
  }
  return true;
}

}  // namespace weft::wg
