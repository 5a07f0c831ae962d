#include "agent/docker_watcher.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <set>

#include "agent/local_api.hpp"
#include "wg/device.hpp"
#include "wg/firewall.hpp"

namespace weft::agent {

using json = nlohmann::json;

namespace {

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

DockerWatcher::DockerWatcher(boost::asio::io_context& io, DockerOptions options, std::string bridge, Ipv4Net subnet,
                             std::string iptables, Apply apply)
    : io_(io),
      options_(std::move(options)),
      bridge_(std::move(bridge)),
      subnet_(subnet),
      iptables_(std::move(iptables)),
      apply_(std::move(apply)),
      retry_timer_(io),
      relist_timer_(io) {
  std::string path = options_.socket.empty() ? docker::default_socket_path() : options_.socket;
  client_ = std::make_unique<docker::EngineClient>(io_, path);
}

void DockerWatcher::start() { connect(); }

void DockerWatcher::retry(const std::string& why, std::chrono::milliseconds after) {
  counters_.connected = false;
  status_ = why;
  retry_timer_.expires_after(after);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
}

void DockerWatcher::connect() {
  client_->cancel();
  if (!is_socket(client_->socket_path())) {
    if (!said_no_socket_)
      spdlog::info("Docker: no socket at {}: container integration off (looking again every 10 s)", client_->socket_path());
    said_no_socket_ = true;
    return retry("no Docker socket at " + client_->socket_path(), std::chrono::seconds(10));
  }
  said_no_socket_ = false;
  ensure_network();
}

void DockerWatcher::ensure_network() {
  client_->get("/networks/" + options_.network, [this](const std::string& err, unsigned status, std::string body) {
    if (!err.empty() || (status != 200 && status != 404)) {
      ++counters_.errors;
      std::string why = err.empty() ? "HTTP " + std::to_string(status) + ": " + body : err;
      spdlog::warn("Docker: cannot read network {}: {}", options_.network, why);
      backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(30'000));
      return retry("Docker unreachable: " + why, backoff_);
    }
    if (status == 404) return create_network();
    std::string why;
    auto n = docker::parse_network(body, &why);
    if (!n) {
      ++counters_.errors;
      return retry("Docker network " + options_.network + " unreadable: " + why, std::chrono::seconds(30));
    }
    if (n->subnet != subnet_ || n->bridge_name != bridge_) {
      // Never replaced silently: someone made it, maybe with containers on it.
      std::string msg = "Docker network " + options_.network + " exists with subnet " +
                        (n->subnet ? n->subnet->to_string() : std::string("none")) + " on bridge " +
                        (n->bridge_name.empty() ? std::string("(Docker's choice)") : n->bridge_name) +
                        "; this machine needs subnet " + subnet_.to_string() + " on bridge " + bridge_ +
                        ". It is left alone: remove it (docker network rm " + options_.network +
                        ") and weft creates the right one";
      if (status_ != msg) spdlog::error("{}", msg);
      return retry(msg, std::chrono::seconds(10));
    }
    watch();
  });
}

void DockerWatcher::create_network() {
  json body{{"Name", options_.network},
            {"Driver", "bridge"},
            {"CheckDuplicate", true},
            {"IPAM", {{"Config", json::array({{{"Subnet", subnet_.to_string()},
                                               {"Gateway", Ipv4{subnet_.base.value + 1}.to_string()}}})}}},
            {"Options",
             {{"com.docker.network.bridge.name", bridge_}, {"com.docker.network.bridge.enable_ip_masquerade", "false"}}},
            {"Labels", {{"weft.managed", "true"}}}};
  client_->post("/networks/create", body.dump(), [this](const std::string& err, unsigned status, std::string reply) {
    if (!err.empty() || status != 201) {
      ++counters_.errors;
      std::string why = err.empty() ? "HTTP " + std::to_string(status) + ": " + reply : err;
      spdlog::error("Docker: cannot create network {}: {}", options_.network, why);
      return retry("cannot create the Docker network: " + why, std::chrono::seconds(10));
    }
    spdlog::info("Docker: created network {} ({} on bridge {})", options_.network, subnet_.to_string(), bridge_);
    watch();
  });
}

void DockerWatcher::watch() {
  // Docker (re)started: its FORWARD policy is DROP and DOCKER-USER comes first; our rules must
  // be reachable from there.
  try {
    wg::ensure_docker_user_jump(iptables_);
  } catch (const wg::DeviceError& e) {
    spdlog::warn("Docker: {}", e.what());
  }
  json filters{{"type", {"container"}}, {"label", {"weft.service"}}};
  client_->stream(
      "/events?filters=" + url_encode(filters.dump()),
      [this](std::string_view line) {
        std::string why;
        auto e = docker::parse_event(line, &why);
        if (!e) return;
        ++counters_.events;
        static const std::set<std::string> relevant{"start", "die", "stop", "kill", "destroy", "pause", "unpause",
                                                     "health_status", "rename", "connect", "disconnect"};
        if (relevant.count(e->action)) relist_soon();
      },
      [this](const std::string& why) {
        ++counters_.errors;
        spdlog::warn("Docker: event stream ended ({}); reconnecting", why);
        retry("event stream ended: " + why, std::chrono::seconds(2));
      });
  ++counters_.connects;
  counters_.connected = true;
  backoff_ = std::chrono::milliseconds(1000);
  status_ = "connected to " + client_->socket_path();
  spdlog::info("Docker: watching containers through {}", client_->socket_path());
  relist();
}

// Several events in a row (kill, die, stop, destroy) make one list.
void DockerWatcher::relist_soon() {
  if (relist_pending_) return;
  relist_pending_ = true;
  relist_timer_.expires_after(std::chrono::milliseconds(100));
  relist_timer_.async_wait([this](boost::system::error_code ec) {
    relist_pending_ = false;
    if (!ec) relist();
  });
}

void DockerWatcher::relist() {
  json filters{{"label", {"weft.service"}}, {"network", {options_.network}}};
  client_->get("/containers/json?filters=" + url_encode(filters.dump()),
               [this](const std::string& err, unsigned status, std::string body) {
                 std::string why;
                 auto list = err.empty() && status == 200 ? docker::parse_container_list(body, options_.network, &why)
                                                          : std::nullopt;
                 if (!list) {
                   ++counters_.errors;
                   spdlog::warn("Docker: cannot list containers: {}", err.empty() ? (why.empty() ? "HTTP " + std::to_string(status) : why) : err);
                   // Again in a second (a dead daemon also ends the stream, which reconnects).
                   relist_pending_ = true;
                   relist_timer_.expires_after(std::chrono::seconds(1));
                   relist_timer_.async_wait([this](boost::system::error_code ec) {
                     relist_pending_ = false;
                     if (!ec) relist();
                   });
                   return;
                 }
                 ++counters_.lists;
                 apply_(*list);
               });
}

}  // namespace weft::agent
