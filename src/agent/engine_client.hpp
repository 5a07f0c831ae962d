// A client of the Docker Engine API over its Unix socket (HTTP/1.1 through Boost.Beast, no docker
// CLI). Each request uses its own connection; the event stream keeps one open and hands over
// one JSON object per line. The socket is found as every Docker client finds it: DOCKER_HOST
// (unix://PATH) when set, /var/run/docker.sock otherwise.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace weft::docker {

inline constexpr const char* kApiVersion = "/v1.41";

// The socket path from a DOCKER_HOST value ("unix:///run/docker.sock"); nullopt for other
// schemes (tcp:// is not supported: the agent talks to its own machine's daemon only).
std::optional<std::string> socket_from_docker_host(const std::string& docker_host);
// DOCKER_HOST from the environment, else /var/run/docker.sock.
std::string default_socket_path();

class EngineClient {
 public:
  // (error: empty on success, HTTP status, body)
  using Done = std::function<void(const std::string&, unsigned, std::string)>;
  EngineClient(boost::asio::io_context& io, std::string socket_path);
  ~EngineClient();
  const std::string& socket_path() const { return path_; }

  // `target` starts with "/" and omits the API version prefix.
  void get(const std::string& target, Done done);
  void post(const std::string& target, const std::string& json_body, Done done);
  // GET /events?...: on_line for every JSON line, then on_end(error) once the stream ends.
  void stream(const std::string& target, std::function<void(std::string_view)> on_line,
              std::function<void(const std::string&)> on_end);
  // Ends every open request and the stream (their callbacks are not called).
  void cancel();

 private:
  struct Call;
  struct Stream;
  void request(bool post, const std::string& target, const std::string& body, Done done);
  static void read_stream(std::shared_ptr<Stream> s, std::shared_ptr<bool> alive);

  boost::asio::io_context& io_;
  std::string path_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<Stream> stream_;
};

}  // namespace weft::docker
