#include "access/wire.hpp"

#include <charconv>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "base/ipv4.hpp"
#include "access/plan.hpp"
#include "wg/key_text.hpp"

namespace weft::access {

using json = nlohmann::json;

namespace {

template <typename T>
std::optional<T> fail(std::string* why, const std::string& reason) {
  if (why) *why = reason;
  return std::nullopt;
}

// A string member, or `fallback` when absent; nullopt (and why) when present but not a string.
std::optional<std::string> string_field(const json& j, const char* name, const std::string& fallback, std::string* why) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return fail<std::string>(why, std::string(name) + " must be a string");
  return it->get<std::string>();
}

bool valid_port(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc{} && end == text.data() + text.size() && port >= 1 && port <= 65535 && text[0] != '0';
}

bool valid_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool valid_ipv6(std::string_view host) {
  if (host.size() < 2 || host.size() > 45) return false;
  for (char c : host)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) return false;
  return host.find(':') != std::string_view::npos;
}

bool valid_cidr(std::string_view text) {
  auto net = Ipv4Net::parse(text);
  return net && net->to_string() == text;
}

}  // namespace

bool valid_label(std::string_view label) {
  if (label.size() > 64) return false;
  for (unsigned char c : label)
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') return false;
  return true;
}

bool valid_endpoint(std::string_view endpoint) {
  std::string_view host, port;
  if (!endpoint.empty() && endpoint[0] == '[') {
    auto close = endpoint.find(']');
    if (close == std::string_view::npos || close + 1 >= endpoint.size() || endpoint[close + 1] != ':') return false;
    host = endpoint.substr(1, close - 1);
    port = endpoint.substr(close + 2);
    if (!valid_ipv6(host)) return false;
  } else {
    auto colon = endpoint.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
    if (!valid_dns_name(host)) return false;  // dotted IPv4 is a valid name by these rules
  }
  return !port.empty() && valid_port(port);
}

std::optional<GrantRequest> parse_grant_request(std::string_view body, std::string* why) {
  json in = json::parse(body, nullptr, false);
  if (in.is_discarded() || !in.is_object()) return fail<GrantRequest>(why, "body must be a JSON object");
  GrantRequest r;
  auto ttl = string_field(in, "ttl", "2h", why);
  if (!ttl) return std::nullopt;
  auto ms = parse_ttl(*ttl, why);
  if (!ms) return std::nullopt;
  r.ttl_ms = *ms;
  auto label = string_field(in, "label", "", why);
  if (!label) return std::nullopt;
  if (!valid_label(*label)) return fail<GrantRequest>(why, "label: at most 64 printable characters, no quotes or backslashes");
  r.label = *label;
  if (auto to = in.find("to"); to != in.end() && !to->is_null()) {
    if (!to->is_array()) return fail<GrantRequest>(why, "to must be a list");
    if (to->size() > kMaxGrantTargets) return fail<GrantRequest>(why, "at most 32 targets");
    for (const auto& t : *to) {
      if (!t.is_string()) return fail<GrantRequest>(why, "to must be a list of strings");
      r.targets.push_back(t.get<std::string>());
    }
  }
  auto pubkey = string_field(in, "pubkey", "", why);
  if (!pubkey) return std::nullopt;
  if (pubkey->empty())
    return fail<GrantRequest>(why, "pubkey: the client's WireGuard public key is required (the CLI makes a key pair when you bring none)");
  auto key = wg::key_from_base64(*pubkey);
  if (!key || sodium_is_zero(key->data(), key->size()))
    return fail<GrantRequest>(why, "pubkey is not a WireGuard public key (44 characters of base64, 32 bytes, not zero)");
  r.client_key = *key;
  auto endpoint = string_field(in, "endpoint", "", why);
  if (!endpoint) return std::nullopt;
  if (!endpoint->empty() && !valid_endpoint(*endpoint))
    return fail<GrantRequest>(why, "endpoint " + json(*endpoint).dump() + " is not HOST:PORT");
  r.endpoint = *endpoint;
  return r;
}

std::optional<Grant> parse_grant(std::string_view body, std::string* why) {
  json in = json::parse(body, nullptr, false);
  if (in.is_discarded() || !in.is_object()) return fail<Grant>(why, "the agent's answer is not a JSON object");
  Grant g;
  auto text = [&](const char* name, std::string& into) {
    auto it = in.find(name);
    if (it == in.end() || !it->is_string()) {
      if (why) *why = std::string("the agent's answer has no string ") + name;
      return false;
    }
    into = it->get<std::string>();
    return true;
  };
  if (!text("id", g.id) || !text("address", g.address) || !text("server_key", g.server_key) || !text("endpoint", g.endpoint))
    return std::nullopt;
  if (auto it = in.find("label"); it != in.end() && !it->is_null()) {
    if (!it->is_string() || !valid_label(it->get<std::string>())) return fail<Grant>(why, "the agent's answer has a bad label");
    g.label = it->get<std::string>();
  }
  if (g.id.empty() || g.id.size() > 64 || g.id.find_first_not_of("0123456789abcdef") != std::string::npos)
    return fail<Grant>(why, "the agent's answer has a bad session id");
  auto address = Ipv4Net::parse(g.address);
  if (!address || address->prefix != 32 || !valid_cidr(g.address)) return fail<Grant>(why, "the agent's answer has a bad address");
  if (!wg::key_from_base64(g.server_key)) return fail<Grant>(why, "the agent's answer has a bad server key");
  if (!valid_endpoint(g.endpoint)) return fail<Grant>(why, "the agent's answer has a bad endpoint");
  auto allowed = in.find("allowed_ips");
  if (allowed == in.end() || !allowed->is_array()) return fail<Grant>(why, "the agent's answer has no allowed_ips list");
  for (const auto& a : *allowed) {
    if (!a.is_string() || !valid_cidr(a.get<std::string>())) return fail<Grant>(why, "the agent's answer has a bad allowed IP");
    g.allowed_ips.push_back(a.get<std::string>());
  }
  auto expires = in.find("expires_ms");
  if (expires == in.end() || !expires->is_number_unsigned()) return fail<Grant>(why, "the agent's answer has no expires_ms");
  g.expires_ms = expires->get<uint64_t>();
  return g;
}

}  // namespace weft::access
