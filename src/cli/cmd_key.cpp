// `weft key`: cluster key rotation. `generate` makes a key locally; install, use, remove and ls
// go through the running agent.
#include <sodium.h>

#include <array>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "base/hex.hpp"
#include "cli/commands.hpp"
#include "crdt/signing.hpp"

namespace weft::cli {

void add_key_commands(Registry& reg) {
  auto key_hex = std::make_shared<std::string>();
  Shared& shared = reg.shared;

  auto* key = reg.app.add_subcommand("key", "cluster key rotation: generate, install everywhere, use, remove the old");
  key->require_subcommand(1);

  auto* key_generate = key->add_subcommand("generate", "print a new random cluster key");
  reg.add(
      key_generate,
      [] {
        std::array<uint8_t, 32> k;
        crdt::ensure_sodium();
        randombytes_buf(k.data(), k.size());
        std::cout << to_hex(k) << "\n";
        return 0;
      },
      false);

  for (const char* op : {"install", "use", "remove"}) {
    auto* sub = key->add_subcommand(op, std::string(op) == "install" ? "accept frames sealed with KEY"
                                        : std::string(op) == "use"   ? "seal with KEY (installed everywhere first)"
                                                                     : "stop accepting KEY");
    add_common(*sub, shared, false);
    sub->add_option("key", *key_hex, "64 hex digits")->required();
    reg.add(sub, [op = std::string(op), key_hex, &shared] {
      auto r = api(shared.data_dir, "POST", "/v1/keys", json{{"op", op}, {"key", *key_hex}}.dump());
      std::cout << op << " key " << r["id"].get<std::string>() << " (" << r["keys"] << " installed)\n";
      return 0;
    });
  }

  auto* key_ls = key->add_subcommand("ls", "installed keys (ids only)");
  add_common(*key_ls, shared, true);
  reg.add(key_ls, [&shared] {
    return show(shared, "/v1/keys", [](const json& keys) {
      for (const auto& k : keys) std::cout << k["id"].get<std::string>() << (k["primary"].get<bool>() ? "  primary" : "") << "\n";
    });
  });
}

}  // namespace weft::cli
