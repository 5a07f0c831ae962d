// `weft access grant`, `ls`, `revoke`: short-lived WireGuard sessions for outside clients, through
// the running agent. The client's key pair is made here, never in the agent.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/local_api.hpp"
#include "cli/access_client.hpp"
#include "cli/commands.hpp"
#include "access/plan.hpp"
#include "access/wire.hpp"

namespace weft::cli {

namespace {

struct GrantArgs {
  std::string ttl = "2h", label, pubkey, out, endpoint;
  std::vector<std::string> to;
  bool qr = false;
};

int cmd_access_grant(const std::string& data_dir, const GrantArgs& g) {
  std::string why;
  if (!access::parse_ttl(g.ttl, &why)) throw Fail(why);  // before a key pair is made for nothing
  if (!g.out.empty() && std::filesystem::exists(g.out)) throw Fail(g.out + " exists (not overwritten)");
  ClientKeys keys;
  if (g.pubkey.empty()) keys = new_client_keys();
  json body{{"ttl", g.ttl}, {"label", g.label}, {"pubkey", g.pubkey.empty() ? keys.public_key : g.pubkey}, {"to", g.to}};
  if (!g.endpoint.empty()) body["endpoint"] = g.endpoint;
  auto grant = access::parse_grant(api(data_dir, "POST", "/v1/access", body.dump()).dump(), &why);
  if (!grant) throw Fail(why + " (no config written)");
  access::ClientConfig c;
  c.private_key = keys.private_key;  // empty with --pubkey: the client has its own
  c.address = grant->address;
  c.server_key = grant->server_key;
  c.endpoint = grant->endpoint;
  c.allowed_ips = grant->allowed_ips;
  c.label = grant->label;
  c.expires_ms = grant->expires_ms;
  std::string conf = access::render_wg_quick(c);
  std::cerr << "access session " << grant->id << ": " << c.address << ", until " << grant->expires_ms / 1000
            << " (unix s); revoke with: weft access revoke " << grant->id << "\n";
  if (!g.out.empty()) {
    write_secret_file(g.out, conf);
    std::cerr << "config written to " << g.out << " (0600)\n";
  } else {
    std::cout << conf;
  }
  if (g.qr) std::cout << terminal_qr(conf);
  return 0;
}

void print_access(const json& sessions) {
  std::printf("%-16s %-16s %-16s %-20s %-20s %-10s %12s %12s\n", "ID", "LABEL", "ADDRESS", "EXPIRES", "FIRST HANDSHAKE",
              "LATEST", "RX", "TX");
  for (const auto& s : sessions) {
    std::string first = s["first_handshake"].is_null() ? "never" : s["first_handshake"].get<std::string>();
    std::string hs = s["latest_handshake_age_s"].is_null() ? "-" : std::to_string(s["latest_handshake_age_s"].get<uint64_t>()) + "s ago";
    std::string expires = s["live"].get<bool>() ? s["expires"].get<std::string>() : "expired";
    std::printf("%-16s %-16s %-16s %-20s %-20s %-10s %12llu %12llu\n", s["id"].get<std::string>().c_str(),
                s["label"].get<std::string>().empty() ? "-" : s["label"].get<std::string>().c_str(),
                s["address"].get<std::string>().c_str(), expires.c_str(), first.c_str(), hs.c_str(),
                static_cast<unsigned long long>(s["rx_bytes"].get<uint64_t>()),
                static_cast<unsigned long long>(s["tx_bytes"].get<uint64_t>()));
  }
}

}  // namespace

void add_access_commands(Registry& reg) {
  auto grant = std::make_shared<GrantArgs>();
  auto access_id = std::make_shared<std::string>();
  Shared& shared = reg.shared;

  auto* access = reg.app.add_subcommand("access", "short-lived WireGuard sessions for outside clients");
  access->require_subcommand(1);

  auto* access_grant = access->add_subcommand("grant", "grant a session; prints the client's wg-quick config");
  add_common(*access_grant, shared, false);
  access_grant->add_option("--ttl", grant->ttl, "lifetime: 90s, 30m, 2h, 1d, 1h30m (at most 30 days)")->capture_default_str();
  access_grant->add_option("--name", grant->label, "a label for the session");
  access_grant->add_option("--pubkey", grant->pubkey, "the client's WireGuard public key (then no private key is made)");
  access_grant->add_option("--to", grant->to, "what it may reach: SERVICE or IP[:PORT] (repeatable; default: this machine's /24)");
  access_grant->add_option("--out", grant->out, "write the config to FILE (0600) instead of printing it");
  access_grant->add_option("--endpoint", grant->endpoint, "IP:PORT the client dials (default: this machine's first WireGuard candidate)");
  access_grant->add_flag("--qr", grant->qr, "also print the config as a QR code");
  reg.add(access_grant, [grant, &shared] { return cmd_access_grant(shared.data_dir, *grant); });

  auto* access_ls = access->add_subcommand("ls", "this machine's sessions");
  add_common(*access_ls, shared, true);
  reg.add(access_ls, [&shared] { return show(shared, "/v1/access", print_access); });

  auto* access_revoke = access->add_subcommand("revoke", "end a session now");
  add_common(*access_revoke, shared, false);
  access_revoke->add_option("id", *access_id, "session id (weft access ls)")->required();
  reg.add(access_revoke, [access_id, &shared] {
    auto r = api(shared.data_dir, "DELETE", "/v1/access/" + agent::url_encode(*access_id));
    std::cout << "revoked " << r["revoked"].get<std::string>() << "\n";
    return 0;
  });
}

}  // namespace weft::cli
