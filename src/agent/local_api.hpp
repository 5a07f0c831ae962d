// The local API: HTTP/1.1 on a Unix socket in the data dir (0600), one request per connection
// or keep-alive, JSON bodies. The CLI is its client; /metrics serves Prometheus text.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace weft::agent {

// Percent-encoding of a query value (letters, digits, '-', '_', '.' stay as they are); the API
// decodes it. Also for the Docker Engine API's filters.
std::string url_encode(std::string_view s);

struct ApiRequest {
  std::string method;
  std::string path;                          // without the query
  std::map<std::string, std::string> query;  // decoded
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class LocalApi {
 public:
  using Handler = std::function<ApiResponse(const ApiRequest&)>;
  LocalApi(boost::asio::io_context& io, const std::filesystem::path& socket_path, Handler handler);
  ~LocalApi();

 private:
  void accept();
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::filesystem::path path_;
  Handler handler_;
};

// The CLI's side: one request, the response. Throws std::runtime_error when the agent is not
// reachable (with a message that says so).
ApiResponse call_local_api(const std::filesystem::path& socket_path, const std::string& method,
                           const std::string& target, const std::string& body = "");

}  // namespace weft::agent
