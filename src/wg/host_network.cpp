#include "wg/host_network.hpp"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include <fstream>
#include <memory>
#include <vector>

#include "wg/device.hpp"

namespace weft::wg {

namespace {

// Owning handles for libnl objects.
struct LinkFree {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrFree {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RouteFree {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrFree {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using Link = std::unique_ptr<rtnl_link, LinkFree>;
using Addr = std::unique_ptr<rtnl_addr, AddrFree>;
using Route = std::unique_ptr<rtnl_route, RouteFree>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrFree>;

NlAddr parse_addr(const std::string& text) {
  nl_addr* a = nullptr;
  int err = nl_addr_parse(text.c_str(), AF_INET, &a);
  if (err < 0) throw DeviceError("bad address " + text + ": " + nl_geterror(err));
  return NlAddr(a);
}

[[noreturn]] void fail(const std::string& what, int err) { throw DeviceError(what + ": " + nl_geterror(err)); }

const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

}  // namespace

HostNetwork::HostNetwork(HostNetworkConfig config) : config_(std::move(config)) {
  sock_ = nl_socket_alloc();
  if (!sock_) throw DeviceError("cannot allocate a netlink socket");
  int err = nl_connect(sock_, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sock_);
    sock_ = nullptr;
    fail("cannot open rtnetlink", err);
  }
}

HostNetwork::~HostNetwork() {
  if (sock_) nl_socket_free(sock_);
}

int HostNetwork::ifindex(const std::string& name) const {
  rtnl_link* l = nullptr;
  if (rtnl_link_get_kernel(sock_, 0, name.c_str(), &l) < 0) return 0;
  Link link(l);
  return rtnl_link_get_ifindex(link.get());
}

bool HostNetwork::link_exists(const std::string& name) const { return ifindex(name) > 0; }

// Creates a link of `kind` unless one of that name exists; 0 or a negative libnl error.
int HostNetwork::ensure_link(const std::string& name, const char* kind) {
  if (link_exists(name)) return 0;
  Link link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_set_type(link.get(), kind);
  if (err >= 0) err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL);
  return err == -NLE_EXIST ? 0 : err;
}

void HostNetwork::create_wireguard_link() {
  if (int err = ensure_link(config_.wg_interface, "wireguard"); err < 0)
    fail("cannot create WireGuard interface " + config_.wg_interface +
             " (kernel backend; is the wireguard module loaded? --wg-backend userspace runs wireguard-go instead)",
         err);
}

void HostNetwork::ensure_bridge() {
  if (int err = ensure_link(config_.bridge, "bridge"); err < 0) fail("cannot create bridge " + config_.bridge, err);
}

void HostNetwork::set_up_and_mtu(const std::string& name, std::optional<uint32_t> mtu) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(sock_, 0, name.c_str(), &l);
  if (err < 0) fail("no interface " + name, err);
  Link orig(l);
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (mtu) rtnl_link_set_mtu(change.get(), *mtu);
  err = rtnl_link_change(sock_, orig.get(), change.get(), 0);
  if (err < 0) fail("cannot bring up " + name, err);
}

void HostNetwork::ensure_address(const std::string& link, const std::string& cidr) {
  int index = ifindex(link);
  if (index <= 0) throw DeviceError("no interface " + link + " for address " + cidr);
  Addr addr(rtnl_addr_alloc());
  NlAddr local = parse_addr(cidr);
  rtnl_addr_set_ifindex(addr.get(), index);
  rtnl_addr_set_local(addr.get(), local.get());
  int err = rtnl_addr_add(sock_, addr.get(), 0);
  if (err < 0 && err != -NLE_EXIST) fail("cannot add " + cidr + " to " + link, err);
}

void HostNetwork::ensure_route(const Ipv4Net& dst, const std::string& link, const Ipv4& source) {
  int index = ifindex(link);
  if (index <= 0) throw DeviceError("no interface " + link + " for route " + dst.to_string());
  Route route(rtnl_route_alloc());
  NlAddr d = parse_addr(dst.to_string());
  NlAddr src = parse_addr(source.to_string());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_dst(route.get(), d.get());
  rtnl_route_set_pref_src(route.get(), src.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_LINK);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, index);
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns it now
  int err = rtnl_route_add(sock_, route.get(), NLM_F_CREATE | NLM_F_REPLACE);
  if (err < 0) fail("cannot route " + dst.to_string() + " via " + link, err);
}

void HostNetwork::remove_other_mesh_addresses(const std::string& link, const Ipv4& keep) {
  int index = ifindex(link);
  if (index <= 0) return;
  nl_cache* cache = nullptr;
  int err = rtnl_addr_alloc_cache(sock_, &cache);
  if (err < 0) fail("cannot list the addresses of " + link, err);
  std::vector<Addr> stale;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (rtnl_addr_get_ifindex(a) != index || rtnl_addr_get_family(a) != AF_INET || !local ||
        nl_addr_get_len(local) != 4)
      continue;
    const auto* b = static_cast<const uint8_t*>(nl_addr_get_binary_addr(local));
    Ipv4 ip{uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]};
    if (ip == keep || !config_.network.contains(ip)) continue;
    nl_object_get(o);
    stale.emplace_back(a);
  }
  nl_cache_free(cache);
  for (const auto& a : stale) {
    err = rtnl_addr_delete(sock_, a.get(), 0);
    if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND) fail("cannot remove a stale address from " + link, err);
  }
}

std::optional<std::string> HostNetwork::configure(const Ipv4Net& subnet) {
  Ipv4 self{subnet.base.value + 1};
  if (!link_exists(config_.wg_interface)) throw DeviceError("no WireGuard interface " + config_.wg_interface);
  ensure_address(config_.wg_interface, self.to_string() + "/32");
  remove_other_mesh_addresses(config_.wg_interface, self);
  set_up_and_mtu(config_.wg_interface, config_.mtu);
  ensure_bridge();
  ensure_address(config_.bridge, self.to_string() + "/" + std::to_string(subnet.prefix));
  remove_other_mesh_addresses(config_.bridge, self);
  set_up_and_mtu(config_.bridge, std::nullopt);
  ensure_route(config_.network, config_.wg_interface, self);
  if (config_.access_range) ensure_route(*config_.access_range, config_.wg_interface, self);
  std::optional<std::string> before;
  std::string current;
  {
    std::ifstream in(kIpForward);
    std::getline(in, current);
  }
  if (current != "1") {
    std::ofstream out(kIpForward);
    out << "1\n";
    out.flush();
    if (!out) throw DeviceError(std::string("cannot turn on ") + kIpForward);
    before = current.empty() ? "0" : current;
  }
  return before;
}

void HostNetwork::delete_link(const std::string& name) {
  rtnl_link* l = nullptr;
  if (rtnl_link_get_kernel(sock_, 0, name.c_str(), &l) < 0) return;
  Link link(l);
  int err = rtnl_link_delete(sock_, link.get());
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) fail("cannot delete " + name, err);
}

void HostNetwork::delete_route(const Ipv4Net& dst, int index) {
  Route route(rtnl_route_alloc());
  NlAddr d = parse_addr(dst.to_string());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_dst(route.get(), d.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(route.get(), RT_SCOPE_NOWHERE);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, index);
  rtnl_route_add_nexthop(route.get(), nh);
  int err = rtnl_route_delete(sock_, route.get(), 0);
  if (err < 0 && err != -NLE_OBJ_NOTFOUND) fail("cannot remove the route of " + dst.to_string(), err);
}

void HostNetwork::remove(bool delete_wireguard_link, const std::optional<std::string>& ip_forward_before) {
  delete_link(config_.bridge);  // takes its address and the /24 route with it
  if (delete_wireguard_link) {
    delete_link(config_.wg_interface);  // and the cluster route
  } else if (int index = ifindex(config_.wg_interface); index > 0) {
    delete_route(config_.network, index);
    if (config_.access_range) delete_route(*config_.access_range, index);
  }
  if (ip_forward_before) {
    std::ofstream out(kIpForward);
    out << *ip_forward_before << "\n";
  }
}

}  // namespace weft::wg
