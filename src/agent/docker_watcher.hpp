// The agent's Docker integration: keeps a Docker bridge network on this machine's /24 (bridge =
// the mesh bridge, gateway = .1, Docker's own masquerade off: weft masquerades only what leaves
// the mesh), keeps the mesh's forward rules reachable from DOCKER-USER, watches the event
// stream and lists the labelled containers at start, after every relevant event and after every
// reconnect, handing the list to the agent (which turns it into records). No Docker socket is
// not an error: the watcher says so once and looks again every 10 s. A network of the same
// name on another subnet is reported and left alone.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/ipv4.hpp"
#include "agent/engine_client.hpp"
#include "docker/engine_json.hpp"

namespace weft::agent {

struct DockerOptions {
  std::string mode = "auto";  // auto: use Docker when its socket is there; off
  std::string socket;         // "" : DOCKER_HOST, else /var/run/docker.sock
  std::string network = "weft";
};

struct DockerCounters {
  uint64_t connects = 0, events = 0, lists = 0, errors = 0;
  bool connected = false;
};

class DockerWatcher {
 public:
  using Apply = std::function<void(const std::vector<docker::Container>&)>;
  DockerWatcher(boost::asio::io_context& io, DockerOptions options, std::string bridge, Ipv4Net subnet,
                std::string iptables, Apply apply);
  void start();
  const DockerCounters& counters() const { return counters_; }
  const std::string& status() const { return status_; }  // for weft status / logs

 private:
  void connect();
  void ensure_network();
  void create_network();
  void watch();
  void relist_soon();
  void relist();
  void retry(const std::string& why, std::chrono::milliseconds after);

  boost::asio::io_context& io_;
  DockerOptions options_;
  std::string bridge_;
  Ipv4Net subnet_;
  std::string iptables_;
  Apply apply_;
  std::unique_ptr<docker::EngineClient> client_;
  boost::asio::steady_timer retry_timer_, relist_timer_;
  bool relist_pending_ = false;
  bool said_no_socket_ = false;
  std::chrono::milliseconds backoff_{1000};
  std::string status_ = "starting";
  DockerCounters counters_;
};

}  // namespace weft::agent
