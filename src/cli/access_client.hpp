// The client's side of `weft access grant`: its one-time WireGuard key pair (made here, in the
// CLI, so the private key never reaches the agent and is never stored), the config file (0600,
// never over an existing file) and the terminal QR code.
#pragma once

#include <filesystem>
#include <string>

namespace weft::cli {

struct ClientKeys {
  std::string private_key;  // base64, as `wg genkey`
  std::string public_key;   // base64, as `wg pubkey`
};
ClientKeys new_client_keys();

// Creates `path` with mode 0600 and writes `text`; throws std::runtime_error when it exists or
// cannot be written.
void write_secret_file(const std::filesystem::path& path, const std::string& text);

// `text` as a QR code for a terminal (two modules per character row, Unicode half blocks, a
// quiet zone around). Throws std::runtime_error when libqrencode cannot encode it.
std::string terminal_qr(const std::string& text);

}  // namespace weft::cli
