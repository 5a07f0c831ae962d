#include "wg/netlink_device.hpp"

#include <linux/wireguard.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "wg/genl_message.hpp"

namespace weft::wg {

namespace {

struct GetContext {
  DeviceStatus* status;
  std::string error;
};

int on_get_reply(nl_msg* msg, void* arg) {
  auto* ctx = static_cast<GetContext*>(arg);
  nlmsghdr* nlh = nlmsg_hdr(msg);
  if (!ctx->error.empty()) return NL_SKIP;
  if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
    ctx->error = "short reply";
    return NL_SKIP;
  }
  auto* gnlh = static_cast<genlmsghdr*>(nlmsg_data(nlh));
  parse_device_attributes(reinterpret_cast<const uint8_t*>(genlmsg_attrdata(gnlh, 0)),
                          static_cast<size_t>(genlmsg_attrlen(gnlh, 0)), *ctx->status, &ctx->error);
  return NL_OK;
}

}  // namespace

NetlinkDevice::NetlinkDevice(std::string interface_name) : name_(std::move(interface_name)) {
  sock_ = nl_socket_alloc();
  if (!sock_) throw DeviceError("cannot allocate a netlink socket");
  int err = genl_connect(sock_);
  if (err >= 0) err = family_ = genl_ctrl_resolve(sock_, WG_GENL_NAME);
  if (err < 0) {
    nl_socket_free(sock_);
    sock_ = nullptr;
    throw DeviceError(std::string("kernel WireGuard is not available (generic netlink family \"") + WG_GENL_NAME +
                      "\": " + nl_geterror(err) + "); load the wireguard module or use --wg-backend userspace");
  }
}

NetlinkDevice::~NetlinkDevice() {
  if (sock_) nl_socket_free(sock_);
}

DeviceStatus NetlinkDevice::get() {
  DeviceStatus status;
  GetContext ctx{&status, {}};
  NlMsg msg = build_get_message(family_, name_);
  int err = nl_send_auto(sock_, msg.get());
  if (err >= 0) {
    nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, on_get_reply, &ctx);
    err = nl_recvmsgs_default(sock_);
    nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
  }
  if (err < 0) throw DeviceError("WireGuard device " + name_ + ": get failed: " + nl_geterror(err));
  if (!ctx.error.empty()) throw DeviceError("WireGuard device " + name_ + ": malformed reply: " + ctx.error);
  return status;
}

void NetlinkDevice::set(const DeviceUpdate& update) {
  for (auto& msg : build_set_messages(family_, name_, update)) {
    int err = nl_send_auto(sock_, msg.get());
    if (err >= 0) err = nl_wait_for_ack(sock_);
    if (err < 0) throw DeviceError("WireGuard device " + name_ + ": set refused: " + nl_geterror(err));
  }
}

}  // namespace weft::wg
