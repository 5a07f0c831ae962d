#include "cli/access_client.hpp"

#include <fcntl.h>
#include <qrencode.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "wg/key_text.hpp"

namespace weft::cli {

ClientKeys new_client_keys() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  wg::Key secret, pub;
  randombytes_buf(secret.data(), secret.size());
  secret[0] &= 248;  // X25519 clamping, as wg genkey does
  secret[31] = static_cast<uint8_t>((secret[31] & 127) | 64);
  if (crypto_scalarmult_base(pub.data(), secret.data()) != 0) throw std::runtime_error("cannot derive a public key");
  ClientKeys keys{wg::key_to_base64(secret), wg::key_to_base64(pub)};
  sodium_memzero(secret.data(), secret.size());
  return keys;
}

void write_secret_file(const std::filesystem::path& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error(path.string() + ": " + std::strerror(errno) + (errno == EEXIST ? " (not overwritten)" : ""));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      throw std::runtime_error(path.string() + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw std::runtime_error(path.string() + ": " + std::strerror(errno));
}

std::string terminal_qr(const std::string& text) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_L), QRcode_free);
  if (!code) throw std::runtime_error(std::string("cannot encode the config as a QR code: ") + std::strerror(errno));
  const int width = code->width, margin = 2;
  auto dark = [&](int x, int y) {
    if (x < 0 || y < 0 || x >= width || y >= width) return false;
    return (code->data[y * width + x] & 1) != 0;
  };
  // Light text on a dark terminal is the common case: print light modules as full blocks.
  std::string out;
  for (int y = -margin; y < width + margin; y += 2) {
    for (int x = -margin; x < width + margin; ++x) {
      bool top = !dark(x, y), bottom = !dark(x, y + 1);
      out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    out += "\n";
  }
  return out;
}

}  // namespace weft::cli
