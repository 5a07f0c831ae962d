#include "agent/local_api.hpp"

#include <sys/stat.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

namespace weft::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

ApiRequest parse_target(const http::request<http::string_body>& req) {
  ApiRequest r;
  r.method = std::string(req.method_string());
  std::string target(req.target());
  auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string_view rest(target);
    rest.remove_prefix(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      auto pair = rest.substr(0, amp);
      auto eq = pair.find('=');
      r.query[url_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  r.body = req.body();
  return r;
}

struct Session : std::enable_shared_from_this<Session> {
  local::socket socket;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response<http::string_body> response;
  LocalApi::Handler& handler;

  Session(local::socket s, LocalApi::Handler& h) : socket(std::move(s)), handler(h) {}

  void read() {
    request = {};
    http::async_read(socket, buffer, request, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->respond();
    });
  }

  void respond() {
    ApiResponse out;
    try {
      out = handler(parse_target(request));
    } catch (const std::exception& e) {
      out = ApiResponse{500, "application/json", std::string("{\"error\":\"internal: ") + e.what() + "\"}"};
    }
    response = {};
    response.version(request.version());
    response.result(static_cast<http::status>(out.status));
    response.set(http::field::content_type, out.content_type);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(out.body);
    response.prepare_payload();
    http::async_write(socket, response, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->response.keep_alive()) self->read();
    });
  }
};

}  // namespace

LocalApi::LocalApi(asio::io_context& io, const std::filesystem::path& socket_path, Handler handler)
    : acceptor_(io), path_(socket_path), handler_(std::move(handler)) {
  std::error_code ec;
  std::filesystem::remove(path_, ec);  // a stale socket from a killed agent (the data dir lock says we own it)
  // Create the socket with no access for group and others from the first moment.
  mode_t old = ::umask(0177);
  try {
    acceptor_.open(local::endpoint(path_.string()).protocol());
    acceptor_.bind(local::endpoint(path_.string()));
    acceptor_.listen();
  } catch (...) {
    ::umask(old);
    throw;
  }
  ::umask(old);
  ::chmod(path_.c_str(), 0600);
  accept();
}

LocalApi::~LocalApi() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

void LocalApi::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, local::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Session>(std::move(socket), handler_)->read();
    accept();
  });
}

ApiResponse call_local_api(const std::filesystem::path& socket_path, const std::string& method,
                           const std::string& target, const std::string& body) {
  asio::io_context io;
  local::socket socket(io);
  boost::system::error_code ec;
  socket.connect(local::endpoint(socket_path.string()), ec);
  if (ec)
    throw std::runtime_error("no agent is running for this data dir (cannot connect to " + socket_path.string() +
                             ": " + ec.message() + ")");
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "weft");
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return ApiResponse{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), res.body()};
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out.push_back(static_cast<char>(c));
    else out += {'%', hex[c >> 4], hex[c & 15]};
  }
  return out;
}

}  // namespace weft::agent
