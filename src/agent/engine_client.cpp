#include "agent/engine_client.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>

namespace weft::docker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

namespace {
constexpr size_t kMaxBody = 16u << 20;     // a container list of thousands still fits
constexpr size_t kMaxEventLine = 1u << 20;  // one event; longer lines are dropped
}  // namespace

std::optional<std::string> socket_from_docker_host(const std::string& host) {
  const std::string scheme = "unix://";
  if (host.rfind(scheme, 0) != 0 || host.size() == scheme.size()) return std::nullopt;
  return host.substr(scheme.size());
}

std::string default_socket_path() {
  if (const char* h = std::getenv("DOCKER_HOST"); h && *h)
    if (auto p = socket_from_docker_host(h)) return *p;
  return "/var/run/docker.sock";
}

struct EngineClient::Call {
  explicit Call(asio::io_context& io) : socket(io) {}
  local::socket socket;
  http::request<http::string_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
};

struct EngineClient::Stream {
  explicit Stream(asio::io_context& io) : socket(io) {}
  local::socket socket;
  http::request<http::empty_body> req;
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  std::string line;
  std::function<void(std::string_view)> on_line;
  std::function<void(const std::string&)> on_end;
  // Splits each body chunk into lines; referenced by the parser, so it lives here.
  std::function<size_t(std::uint64_t, beast::string_view, boost::system::error_code&)> on_chunk;
  bool ended = false;
  void end(const std::string& why) {
    if (ended) return;
    ended = true;
    boost::system::error_code ignored;
    socket.close(ignored);
    if (on_end) on_end(why);
  }
};

EngineClient::EngineClient(asio::io_context& io, std::string socket_path) : io_(io), path_(std::move(socket_path)) {}

EngineClient::~EngineClient() { cancel(); }

void EngineClient::cancel() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  if (stream_) {
    stream_->ended = true;  // no callback
    boost::system::error_code ignored;
    stream_->socket.close(ignored);
    stream_.reset();
  }
}

void EngineClient::get(const std::string& target, Done done) { request(false, target, "", std::move(done)); }

void EngineClient::post(const std::string& target, const std::string& body, Done done) {
  request(true, target, body, std::move(done));
}

void EngineClient::request(bool post, const std::string& target, const std::string& body, Done done) {
  auto call = std::make_shared<Call>(io_);
  call->req = http::request<http::string_body>(post ? http::verb::post : http::verb::get, kApiVersion + target, 11);
  call->req.set(http::field::host, "docker");
  call->req.set(http::field::user_agent, "weft");
  if (post) {
    call->req.set(http::field::content_type, "application/json");
    call->req.body() = body;
  }
  call->req.prepare_payload();
  call->parser.body_limit(kMaxBody);
  auto alive = alive_;
  auto fail = [done, alive](const std::string& why) {
    if (*alive) done(why, 0, "");
  };
  call->socket.async_connect(local::endpoint(path_), [call, done, fail, alive, this](boost::system::error_code ec) {
    if (!*alive) return;
    if (ec) return fail("cannot connect to " + path_ + ": " + ec.message());
    http::async_write(call->socket, call->req, [call, done, fail, alive](boost::system::error_code ec2, size_t) {
      if (!*alive) return;
      if (ec2) return fail("write: " + ec2.message());
      http::async_read(call->socket, call->buffer, call->parser, [call, done, fail, alive](boost::system::error_code ec3, size_t) {
        if (!*alive) return;
        if (ec3) return fail("read: " + ec3.message());
        auto& res = call->parser.get();
        boost::system::error_code ignored;
        call->socket.close(ignored);
        done("", res.result_int(), std::move(res.body()));
      });
    });
  });
}

void EngineClient::stream(const std::string& target, std::function<void(std::string_view)> on_line,
                          std::function<void(const std::string&)> on_end) {
  if (stream_) {
    stream_->ended = true;
    boost::system::error_code ignored;
    stream_->socket.close(ignored);
  }
  auto s = std::make_shared<Stream>(io_);
  stream_ = s;
  s->on_line = std::move(on_line);
  s->on_end = std::move(on_end);
  s->req = http::request<http::empty_body>(http::verb::get, kApiVersion + target, 11);
  s->req.set(http::field::host, "docker");
  s->req.set(http::field::user_agent, "weft");
  s->parser.body_limit(boost::none);  // a stream: the chunks are consumed as they come
  // Each chunk of the body is split into lines here; nothing accumulates in the parser. (A raw
  // pointer: the stream owns this callback, so it cannot outlive it.)
  s->on_chunk = [sp = s.get()](std::uint64_t, beast::string_view body, boost::system::error_code&) -> size_t {
    Stream* s = sp;
    for (char c : body) {
      if (c == '\n') {
        if (!s->line.empty() && s->line.size() <= kMaxEventLine && !s->ended) s->on_line(s->line);
        s->line.clear();
      } else if (s->line.size() <= kMaxEventLine) {
        s->line.push_back(c);
      }
    }
    return body.size();
  };
  s->parser.on_chunk_body(s->on_chunk);
  auto alive = alive_;
  s->socket.async_connect(local::endpoint(path_), [this, s, alive](boost::system::error_code ec) {
    if (!*alive || s->ended) return;
    if (ec) return s->end("cannot connect to " + path_ + ": " + ec.message());
    http::async_write(s->socket, s->req, [s, alive](boost::system::error_code ec2, size_t) {
      if (!*alive || s->ended) return;
      if (ec2) return s->end("write: " + ec2.message());
      http::async_read_header(s->socket, s->buffer, s->parser, [s, alive](boost::system::error_code ec3, size_t) {
        if (!*alive || s->ended) return;
        if (ec3) return s->end("read: " + ec3.message());
        if (s->parser.get().result_int() != 200)
          return s->end("the events request got HTTP " + std::to_string(s->parser.get().result_int()));
        read_stream(s, alive);
      });
    });
  });
}

void EngineClient::read_stream(std::shared_ptr<Stream> s, std::shared_ptr<bool> alive) {
  http::async_read_some(s->socket, s->buffer, s->parser, [s, alive](boost::system::error_code ec, size_t) {
    if (!*alive || s->ended) return;
    if (ec) return s->end(ec == http::error::end_of_stream ? "the daemon closed the stream" : "read: " + ec.message());
    if (s->parser.is_done()) return s->end("the daemon ended the stream");
    read_stream(s, alive);
  });
}

}  // namespace weft::docker
