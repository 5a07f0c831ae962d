// HostNetwork against a real kernel, in a network namespace of a child process the test creates
// (root only; it fails loudly elsewhere): a machine that lost its /24 to a concurrent claim and
// took another keeps only the new .1 on its links, or it would answer locally for the /24 it
// no longer holds (and its replies to the winner would never leave).
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "support/process.hpp"
#include "wg/host_network.hpp"

using namespace weft;

namespace {

std::string addresses(const char* link) {
  std::string out;
  std::string cmd = std::string("ip -4 -o addr show dev ") + link + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  if (p) pclose(p);
  return out;
}

// Runs in the child, inside its own network namespace: 0 when the check holds.
int renumber_in_namespace() {
  if (unshare(CLONE_NEWNET) != 0) return 10;
  // No dummy module on every kernel: a veth end stands in for the WireGuard link.
  if (std::system("ip link add weft type veth peer name weft-peer && ip link set lo up") != 0) return 11;
  wg::HostNetworkConfig c;
  c.network = *Ipv4Net::parse("10.210.0.0/16");
  try {
    wg::HostNetwork net(c);
    net.configure(*Ipv4Net::parse("10.210.229.0/24"));
    if (addresses("weft").find("10.210.229.1/32") == std::string::npos) return 12;
    net.configure(*Ipv4Net::parse("10.210.249.0/24"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "HostNetwork: %s\n", e.what());
    return 13;
  }
  std::string wg = addresses("weft"), br = addresses("weft-br");
  std::fprintf(stderr, "weft: %sweft-br: %s", wg.c_str(), br.c_str());
  if (wg.find("10.210.249.1/32") == std::string::npos || br.find("10.210.249.1/24") == std::string::npos) return 14;
  if (wg.find("10.210.229.1") != std::string::npos || br.find("10.210.229.1") != std::string::npos) return 15;
  return 0;
}

}  // namespace

TEST(HostNetwork, ARenumberedMachineKeepsOnlyItsNewAddress) {
  ASSERT_EQ(geteuid(), 0u) << "needs root (network namespaces)";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(renumber_in_namespace());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 unshare, 11 ip link, 12 first /24, 13 HostNetwork threw, "
                                       "14 new address missing, 15 old address kept";
}
