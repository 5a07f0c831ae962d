// Applies the mesh's firewall rules (wg/firewall_rules.hpp builds them) with iptables -w, in
// chains of our own, and removes them again.
#pragma once

#include <string>
#include <vector>

#include "wg/firewall_rules.hpp"

namespace weft::wg {

// Applies the rules with `iptables` (flush our chains, refill, ensure one jump each). Throws
// DeviceError with iptables' message.
void apply_firewall(const FirewallConfig& config, const std::string& iptables = "iptables");
// Replaces the rules of the access chain in one atomic step (`iptables`-restore --noflush).
void apply_access_rules(const std::vector<FirewallRule>& rules, const std::string& iptables = "iptables");
// Removes our jumps and chains; absent ones are fine.
void remove_firewall(const std::string& iptables = "iptables");
// With Docker: its FORWARD policy is DROP and it puts DOCKER-USER first; a jump from there to
// WEFT-FORWARD keeps mesh traffic flowing whatever Docker does to FORWARD. No-op without
// DOCKER-USER.
void ensure_docker_user_jump(const std::string& iptables = "iptables");

}  // namespace weft::wg
