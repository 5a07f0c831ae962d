// The control port's stream transport against strangers, in-process on loopback: a length
// prefix alone costs no memory, unproven links are capped per source, in size, in time and in
// buffered bytes together, and a member that connects after a flood still gets its frame through.
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74)
#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "agent/control_streams.hpp"
#include "support/ports.hpp"

using namespace weft;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::array<uint8_t, 4> prefix(uint32_t len) {
  return {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
          static_cast<uint8_t>(len)};
}

// A server whose "frames open" when their first byte is 'A' (standing in for the sealed
// envelope: the test decides who is proven).
struct Server {
  asio::io_context io;
  uint16_t port = test::free_port();
  std::vector<std::vector<uint8_t>> frames;
  std::unique_ptr<agent::ControlStreams> streams;
  explicit Server(agent::StreamLimits limits) {
    streams = std::make_unique<agent::ControlStreams>(
        io, 1, 64u << 20,
        [this](std::span<const uint8_t> f, const std::string&, const agent::ControlStreams::Authenticated& auth) {
          frames.emplace_back(f.begin(), f.end());
          if (!f.empty() && f[0] == 'A') auth(crdt::OwnerId{1});
        },
        [](const std::string&) {}, limits);
    streams->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // Runs the loop until `done` holds or the deadline passes; says which.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds deadline = 10s) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io.run_for(5ms);
    }
    return true;
  }
};

// A blocking client socket on its own context, from a chosen loopback source address.
tcp::socket client(asio::io_context& io, uint16_t port, const char* from = "127.0.0.1") {
  tcp::socket s(io);
  s.open(tcp::v4());
  s.bind(tcp::endpoint(asio::ip::make_address(from), 0));
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return s;
}

// Writes a length prefix and `body` on its own thread: a large write blocks until the server's
// loop, run by the test, has read it.
std::thread send_frame(tcp::socket& s, std::vector<uint8_t> body, uint32_t announced = 0) {
  return std::thread([&s, body = std::move(body), announced] {
    auto p = prefix(announced ? announced : static_cast<uint32_t>(body.size()));
    boost::system::error_code ec;
    asio::write(s, std::array<asio::const_buffer, 2>{asio::buffer(p), asio::buffer(body)}, ec);
  });
}

}  // namespace

TEST(ControlStreams, LengthPrefixAloneCostsNothingAndOneSourceHoldsFewSlots) {
  agent::StreamLimits limits;
  limits.max_unproven_per_source = 16;
  Server server(limits);
  asio::io_context cio;
  std::vector<tcp::socket> attackers;
  for (int i = 0; i < 64; ++i) {
    attackers.push_back(client(cio, server.port));
    auto p = prefix(4u << 20);  // a first frame at the cap: accepted as a length, never sent
    asio::write(attackers.back(), asio::buffer(p));
  }
  ASSERT_TRUE(server.run_until([&] { return server.streams->counters().accepted + server.streams->counters().refused_source >= 64; }));
  EXPECT_EQ(server.streams->counters().accepted, 16u);
  EXPECT_EQ(server.streams->counters().refused_source, 48u);
  // Read buffers grow only when bytes arrive: a 4 MiB length prefix alone allocates nothing.
  EXPECT_EQ(server.streams->unproven_bytes(), 0u);

  // A member from another address still gets through, and once proven may send large frames.
  auto member = client(cio, server.port, "127.0.0.2");
  std::vector<uint8_t> hello(100, 'A');
  auto p = prefix(static_cast<uint32_t>(hello.size()));
  asio::write(member, std::array<asio::const_buffer, 2>{asio::buffer(p), asio::buffer(hello)});
  ASSERT_TRUE(server.run_until([&] { return server.frames.size() == 1; }));
  auto writer = send_frame(member, std::vector<uint8_t>(5u << 20, 'B'));
  bool arrived = server.run_until([&] { return server.frames.size() == 2; });
  writer.join();
  ASSERT_TRUE(arrived);
  EXPECT_EQ(server.frames[1].size(), size_t{5} << 20);
  EXPECT_EQ(server.streams->counters().oversized, 0u);
}

TEST(ControlStreams, AnUnprovenLinkCannotSendAFrameOverTheFirstFrameCap) {
  agent::StreamLimits limits;
  limits.max_first_frame = 1u << 20;
  Server server(limits);
  asio::io_context cio;
  auto s = client(cio, server.port);
  auto p = prefix((1u << 20) + 1);
  asio::write(s, asio::buffer(p));
  ASSERT_TRUE(server.run_until([&] { return server.streams->counters().oversized == 1; }));
  EXPECT_EQ(server.streams->open(), 0u);
}

TEST(ControlStreams, ASilentStrangerIsClosedWhenThePreAuthTimeRunsOut) {
  agent::StreamLimits limits;
  limits.pre_auth_ms = 200;
  Server server(limits);
  asio::io_context cio;
  auto silent = client(cio, server.port);
  auto member = client(cio, server.port, "127.0.0.2");
  std::vector<uint8_t> hello(10, 'A');
  auto p = prefix(10);
  asio::write(member, std::array<asio::const_buffer, 2>{asio::buffer(p), asio::buffer(hello)});
  ASSERT_TRUE(server.run_until([&] { return server.streams->counters().pre_auth_timeouts == 1; }));
  EXPECT_EQ(server.streams->open(), 1u);  // the proven member's link stays
  EXPECT_EQ(server.frames.size(), 1u);
}

TEST(ControlStreams, UnprovenBytesTogetherStayWithinTheBudget) {
  agent::StreamLimits limits;
  limits.unproven_bytes_budget = 512u << 10;
  Server server(limits);
  asio::io_context cio;
  std::vector<tcp::socket> senders;
  for (int i = 0; i < 4; ++i) senders.push_back(client(cio, server.port));
  std::vector<std::thread> writers;
  for (auto& s : senders) writers.push_back(send_frame(s, std::vector<uint8_t>(300u << 10, 'x'), 1u << 20));
  size_t most = 0;
  bool closed = server.run_until([&] {
    most = std::max(most, server.streams->unproven_bytes());
    return server.streams->counters().pre_auth_budget >= 2;
  });
  for (auto& w : writers) w.join();
  ASSERT_TRUE(closed);
  EXPECT_LE(most, limits.unproven_bytes_budget);
  EXPECT_TRUE(server.frames.empty());
}

TEST(ControlStreams, AFullTableMakesRoomByClosingTheOldestStranger) {
  agent::StreamLimits limits;
  limits.max_links = 8;
  limits.max_unproven_per_source = 8;
  Server server(limits);
  asio::io_context cio;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(client(cio, server.port));
  ASSERT_TRUE(server.run_until([&] { return server.streams->open() == 8; }));
  auto member = client(cio, server.port, "127.0.0.2");
  std::vector<uint8_t> hello(10, 'A');
  auto p = prefix(10);
  asio::write(member, std::array<asio::const_buffer, 2>{asio::buffer(p), asio::buffer(hello)});
  ASSERT_TRUE(server.run_until([&] { return server.frames.size() == 1; }));
  EXPECT_EQ(server.streams->counters().evicted, 1u);
  EXPECT_EQ(server.streams->counters().refused, 0u);
  EXPECT_EQ(server.streams->open(), 8u);
}
