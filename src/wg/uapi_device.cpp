#include "wg/uapi_device.hpp"

#include <sodium.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wg/uapi.hpp"

namespace weft::wg {

namespace {

constexpr size_t kMaxReply = 16u << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int connect_unix(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

}  // namespace

UapiDevice::UapiDevice(std::string interface_name, std::filesystem::path socket_dir, std::chrono::milliseconds timeout)
    : name_(std::move(interface_name)), socket_dir_(std::move(socket_dir)), timeout_(timeout) {}

bool unix_socket_answers(const std::filesystem::path& path) {
  int fd = connect_unix(path, std::chrono::milliseconds(1000));
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

bool UapiDevice::reachable() const { return unix_socket_answers(socket_path()); }

std::string UapiDevice::exchange(const std::string& request) const {
  auto where = [&] { return "WireGuard device " + name_ + " (" + socket_path().string() + "): "; };
  Fd fd(connect_unix(socket_path(), timeout_));
  if (fd.get() < 0) throw DeviceError(where() + "cannot connect: " + std::strerror(errno));
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw DeviceError(where() + "write failed: " + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[8192];
  while (!reply_complete(reply)) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sodium_memzero(reply.data(), reply.size());
      throw DeviceError(where() + (errno == EAGAIN ? std::string("no reply in time") : std::strerror(errno)));
    }
    if (n == 0) {
      sodium_memzero(reply.data(), reply.size());
      throw DeviceError(where() + "the daemon closed the connection without a complete reply");
    }
    reply.append(buf, static_cast<size_t>(n));
    sodium_memzero(buf, sizeof buf);
    if (reply.size() > kMaxReply) throw DeviceError(where() + "reply larger than 16 MiB");
  }
  return reply;
}

DeviceStatus UapiDevice::get() {
  std::string text = exchange(encode_get());
  std::string why;
  auto reply = parse_reply(text, &why);
  sodium_memzero(text.data(), text.size());  // it holds the private key
  if (!reply) throw DeviceError("WireGuard device " + name_ + ": malformed get reply: " + why);
  if (reply->errno_value != 0)
    throw DeviceError("WireGuard device " + name_ + ": get failed, errno " + std::to_string(reply->errno_value));
  return std::move(reply->status);
}

void UapiDevice::set(const DeviceUpdate& update) {
  std::string request = encode_set(update);
  std::string text;
  try {
    text = exchange(request);
  } catch (...) {
    sodium_memzero(request.data(), request.size());
    throw;
  }
  sodium_memzero(request.data(), request.size());
  std::string why;
  auto reply = parse_reply(text, &why);
  if (!reply) throw DeviceError("WireGuard device " + name_ + ": malformed set reply: " + why);
  if (reply->errno_value != 0)
    throw DeviceError("WireGuard device " + name_ + ": set refused, errno " + std::to_string(reply->errno_value) +
                      " (" + std::strerror(reply->errno_value) + ")");
}

}  // namespace weft::wg
