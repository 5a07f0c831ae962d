/* The plain UDP forwarder the relay is measured against: every datagram that arrives on
 * LISTEN_IP:PORT is sent on to TO_IP:TO_PORT, one recvfrom and one sendto each, like the agent's
 * relay path (which also checks a channel and a source, and counts).
 *   udp_forwarder LISTEN_IP PORT TO_IP TO_PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0}, to = {0};
  a.sin_family = to.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  to.sin_port = htons((unsigned short)atoi(argv[4]));
  inet_pton(AF_INET, argv[3], &to.sin_addr);
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) { perror("bind"); return 1; }
  int big = 8 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  static unsigned char buf[65536];
  for (;;) {
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, NULL, NULL);
    if (n > 0) sendto(s, buf, (size_t)n, 0, (struct sockaddr*)&to, sizeof to);
  }
}
