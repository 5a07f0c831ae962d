#include "agent/mesh_network.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "wg/firewall.hpp"
#include "wg/peer_plan.hpp"
#include "wg/netlink_device.hpp"
#include "wg/uapi_device.hpp"

namespace weft::agent {

MeshNetwork::MeshNetwork(MeshOptions options, Ipv4Net network, uint16_t control_port,
                         const std::array<uint8_t, 32>& private_key, const std::filesystem::path& data_dir)
    : options_(std::move(options)), network_(network), control_port_(control_port), private_key_(private_key) {
  host_ = std::make_unique<wg::HostNetwork>(
      wg::HostNetworkConfig{options_.interface_name, options_.bridge, options_.mtu, network_, options_.access_range});
  if (options_.backend == "userspace") {
    auto device = std::make_unique<wg::UapiDevice>(options_.interface_name, options_.socket_dir);
    bool running = device->reachable();
    if (options_.wireguard_go != "none" && !running) {
      daemon_ = std::make_unique<wg::WireguardGo>(options_.wireguard_go, options_.interface_name, device->socket_path(),
                                                  data_dir / "wireguard-go.log", std::chrono::seconds(10));
      spdlog::info("wireguard-go started for {} (pid {})", options_.interface_name, daemon_->pid());
    } else if (!running) {
      throw wg::DeviceError("no userspace WireGuard daemon answers on " + device->socket_path().string() +
                            " (--wireguard-go none expects one to run already)");
    } else {
      spdlog::info("using the WireGuard daemon already on {}", device->socket_path().string());
    }
    device_ = std::move(device);
  } else if (options_.backend == "kernel") {
    auto device = std::make_unique<wg::NetlinkDevice>(options_.interface_name);  // fails first without the module
    host_->create_wireguard_link();
    device_ = std::move(device);
  } else {
    throw wg::DeviceError("unknown WireGuard backend " + options_.backend);
  }
  set_identity();
}

MeshNetwork::~MeshNetwork() { sodium_memzero(private_key_.data(), private_key_.size()); }

// Key and port before any peer: a handshake that arrives earlier is dropped and retried only
// after 5 s.
void MeshNetwork::set_identity() {
  wg::DeviceUpdate u;
  u.private_key = private_key_;
  u.listen_port = options_.listen_port;
  device_->set(u);
}

std::optional<std::string> MeshNetwork::configure(const Ipv4Net& subnet) {
  auto before = host_->configure(subnet);
  std::optional<Ipv4Net> block;
  if (options_.access_range) block = wg::access_block(*options_.access_range, network_, subnet);
  wg::apply_firewall(wg::FirewallConfig{options_.interface_name, options_.bridge, network_, subnet,
                                        options_.listen_port, control_port_, block},
                     options_.iptables);
  subnet_ = subnet;
  access_rules_applied_ = false;
  if (access_rules_) set_access_rules(*access_rules_);
  spdlog::info("host networking: {} {}/32 mtu {}, bridge {} {}/{}, route {}", options_.interface_name,
               Ipv4{subnet.base.value + 1}.to_string(), options_.mtu, options_.bridge,
               Ipv4{subnet.base.value + 1}.to_string(), subnet.prefix, network_.to_string());
  return before;
}

namespace {

bool same_peer(const wg::WantedPeer& a, const wg::WantedPeer& b) {
  return a.endpoint == b.endpoint && a.keepalive == b.keepalive && a.allowed_ips == b.allowed_ips;
}

}  // namespace

void MeshNetwork::reconcile(wg::PeerSet wanted, const ChoosePaths& choose_paths) {
  try {
    wg::DeviceStatus status = device_->get();
    bool key_ok = status.private_key && sodium_memcmp(status.private_key->data(), private_key_.data(), 32) == 0;
    if (!key_ok || status.listen_port != options_.listen_port) {
      spdlog::warn("WireGuard device {}: private key or listen port changed behind our back; restoring",
                   options_.interface_name);
      set_identity();
      ++counters_.drift_repairs;
    }
    ++counters_.reconciles;
    if (choose_paths) choose_paths(wanted, status);
    wg::DeviceUpdate update = reconciler_.plan(wanted, status);
    if (update.empty()) return;
    // Drift: a change to a peer we want exactly as we last applied it (someone edited the device),
    // or the removal of a peer we never added. Changes of what we want are not drift.
    size_t drifted = 0;
    for (const auto& u : update.peers) {
      auto a = applied_.find(u.public_key);
      auto w = wanted.find(u.public_key);
      if (w == wanted.end()) {
        if (a == applied_.end()) ++drifted;
      } else if (a != applied_.end() && same_peer(a->second, w->second) && !w->second.kick && !w->second.restart) {
        ++drifted;
      }
    }
    if (drifted) {
      counters_.drift_repairs += drifted;
      spdlog::warn("WireGuard device {}: {} peer(s) drifted from the cluster state; repairing", options_.interface_name,
                   drifted);
    }
    device_->set(update);
    applied_ = std::move(wanted);
    counters_.peer_updates += update.peers.size();
  } catch (const wg::DeviceError& e) {
    ++counters_.device_errors;
    reconciler_.forget();
    applied_.clear();
    last_error_ = e.what();
    throw;
  }
}

wg::DeviceStatus MeshNetwork::status() { return device_->get(); }

void MeshNetwork::set_access_rules(std::vector<wg::FirewallRule> rules) {
  if (access_rules_applied_ && access_rules_ == rules) return;
  access_rules_ = std::move(rules);
  access_rules_applied_ = false;
  if (!subnet_) return;  // applied with the rest of the firewall
  wg::apply_access_rules(*access_rules_, options_.iptables);
  access_rules_applied_ = true;
}

size_t MeshNetwork::prune_access_peers(const std::set<wg::Key>& live) {
  if (!options_.access_range) return 0;
  wg::DeviceStatus status = device_->get();
  wg::DeviceUpdate update;
  for (const auto& p : status.peers) {
    if (live.contains(p.public_key) || p.allowed_ips.empty()) continue;
    bool access = std::all_of(p.allowed_ips.begin(), p.allowed_ips.end(), [&](const std::string& a) {
      auto net = Ipv4Net::parse(a);
      return net && options_.access_range->contains(*net);
    });
    if (access) update.peers.push_back(wg::PeerUpdate{p.public_key, true, {}, {}, false, {}});
  }
  if (!update.empty()) device_->set(update);
  return update.peers.size();
}

void MeshNetwork::remove_all(const std::optional<std::string>& ip_forward_before) {
  wg::remove_firewall(options_.iptables);
  if (daemon_) daemon_->stop();  // wireguard-go takes its interface with it
  host_->remove(options_.backend == "kernel", ip_forward_before);
  subnet_.reset();
}

}  // namespace weft::agent
