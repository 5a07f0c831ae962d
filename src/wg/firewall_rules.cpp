#include "wg/firewall_rules.hpp"

namespace weft::wg {

std::vector<FirewallRule> firewall_rules(const FirewallConfig& c) {
  const std::string wg = c.wg_interface, br = c.bridge, net = c.network.to_string(), sub = c.subnet.to_string();
  const std::string wport = std::to_string(c.wireguard_port), cport = std::to_string(c.control_port);
  std::vector<FirewallRule> access;
  if (c.access_block) {
    const std::string block = c.access_block->to_string();
    access = {
        {"filter", "WEFT-INPUT", {"-i", wg, "-s", block, "-j", "WEFT-ACCESS"}},
        {"filter", "WEFT-FORWARD", {"-i", wg, "-s", block, "-j", "WEFT-ACCESS"}},
        {"filter", "WEFT-FORWARD",
         {"-i", wg, "-o", wg, "-d", block, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
        {"nat", "WEFT-POSTROUTING", {"-s", block, "!", "-d", net, "-j", "MASQUERADE"}},
    };
  }
  std::vector<FirewallRule> rules{
      {"filter", "WEFT-INPUT", {"-p", "udp", "--dport", wport, "-j", "ACCEPT"}},
      {"filter", "WEFT-INPUT", {"-p", "udp", "--dport", cport, "-j", "ACCEPT"}},
      {"filter", "WEFT-INPUT", {"-p", "tcp", "--dport", cport, "-j", "ACCEPT"}},
      {"filter", "WEFT-INPUT", {"-i", wg, "-p", "udp", "--dport", "53", "-j", "ACCEPT"}},
      {"filter", "WEFT-INPUT", {"-i", wg, "-p", "tcp", "--dport", "53", "-j", "ACCEPT"}},
      {"filter", "WEFT-INPUT", {"-i", br, "-p", "udp", "--dport", "53", "-j", "ACCEPT"}},
      {"filter", "WEFT-INPUT", {"-i", br, "-p", "tcp", "--dport", "53", "-j", "ACCEPT"}},
      {"filter", "WEFT-FORWARD", {"-i", wg, "-o", br, "-j", "ACCEPT"}},
      {"filter", "WEFT-FORWARD", {"-i", br, "-o", wg, "-j", "ACCEPT"}},
      {"filter", "WEFT-FORWARD", {"-i", br, "-o", br, "-j", "ACCEPT"}},
      {"filter", "WEFT-FORWARD", {"-i", br, "-s", sub, "-j", "ACCEPT"}},
      {"filter", "WEFT-FORWARD", {"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
      {"nat", "WEFT-POSTROUTING", {"-s", sub, "-d", net, "-j", "RETURN"}},
      {"nat", "WEFT-POSTROUTING", {"-s", sub, "!", "-o", wg, "-j", "MASQUERADE"}},
      {"raw", "WEFT-PREROUTING", {"-i", wg, "-d", sub, "-j", "ACCEPT"}},
  };
  rules.insert(rules.begin(), access.begin(), access.end());  // before anything accepts
  return rules;
}

}  // namespace weft::wg
