#include "paths/control_routes.hpp"

#include <algorithm>

namespace weft::paths {

void ControlRoutes::heard(const crdt::OwnerId& member, const std::string& address, uint64_t now) {
  auto& h = heard_[member];
  h.address = address;
  h.at = std::max(h.at, now);
}

std::optional<std::string> ControlRoutes::observed(const crdt::OwnerId& member, uint64_t now) const {
  auto it = heard_.find(member);
  if (it == heard_.end() || now > it->second.at + fresh_ms_) return std::nullopt;
  return it->second.address;
}

std::vector<std::string> ControlRoutes::targets(const crdt::OwnerId& member, const std::string& advertised,
                                                const std::vector<std::string>& candidates, uint64_t now) const {
  if (auto o = observed(member, now)) return {*o};
  std::vector<std::string> out{advertised};
  for (const auto& c : candidates)
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

}  // namespace weft::paths
