// An access grant as it crosses the local API: the request `weft access grant` sends
// (POST /v1/access) and the grant the agent answers with, parsed strictly and purely. Every field
// that ends up in the client's wg-quick config is checked here (wg-quick runs PostUp lines, so a
// field carrying a newline would be a command): neither a bad request nor a bad answer can add a
// line to it. What needs the cluster state (targets, the access range) is checked by the agent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wg/device.hpp"

namespace weft::access {

using wg::Key;

inline constexpr size_t kMaxGrantTargets = 32;

struct GrantRequest {
  uint64_t ttl_ms = 0;
  std::string label;
  std::vector<std::string> targets;  // as given; the agent checks them against its state
  Key client_key{};
  std::string endpoint;  // empty: the granting machine's own published endpoint
};
// `body`: a JSON object {"pubkey": base64 key, "ttl"?: "2h", "label"?: str, "to"?: [str],
// "endpoint"?: "HOST:PORT"}. nullopt with the reason in `why` when anything is off.
std::optional<GrantRequest> parse_grant_request(std::string_view body, std::string* why);

struct Grant {
  std::string id;       // hex
  std::string label;
  std::string address;  // the session's "A.B.C.D/32"
  std::string server_key;  // base64
  std::string endpoint;    // HOST:PORT
  std::vector<std::string> allowed_ips;  // "A.B.C.D/N"
  uint64_t expires_ms = 0;
};
// The agent's answer to a grant, as the CLI reads it before writing a config.
std::optional<Grant> parse_grant(std::string_view body, std::string* why);

// At most 64 bytes, no control characters, quotes or backslashes (it is quoted in the config comment).
bool valid_label(std::string_view label);
// HOST:PORT as wg-quick's Endpoint takes it: an IPv4 address or a DNS name, or [IPv6], then a
// port 1-65535; nothing else (no spaces, no control characters).
bool valid_endpoint(std::string_view endpoint);

}  // namespace weft::access
