/* The do-nothing DNS responder the DNS benchmark ranks servers against: answers every query
 * with one fixed A record (192.0.2.1, TTL 5), batching with recvmmsg/sendmmsg. No parsing
 * beyond finding the end of the question; a lower bound on what answering costs here.
 *   dns_null_responder IP PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 64
#define SIZE 512

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) { perror("bind"); return 1; }
  static unsigned char buf[BATCH][SIZE];
  static struct sockaddr_in from[BATCH];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; ++i) {
      iov[i].iov_base = buf[i];
      iov[i].iov_len = SIZE;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(s, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    int out = 0;
    for (int i = 0; i < n; ++i) {
      unsigned char* p = buf[i];
      size_t len = msgs[i].msg_len, q = 12;
      if (len < 17) continue;
      while (q < len && p[q] != 0) q += p[q] + 1;
      q += 5; /* root label, type, class */
      if (q > len || q + 16 > SIZE) continue;
      p[2] = 0x84; p[3] = 0x00;                 /* QR AA, NOERROR */
      p[6] = 0; p[7] = 1; p[8] = p[9] = p[10] = p[11] = 0;
      unsigned char rr[16] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 192, 0, 2, 1};
      memcpy(p + q, rr, 16);
      iov[i].iov_len = q + 16;
      msgs[out] = msgs[i];
      msgs[out].msg_hdr.msg_iov = &iov[i];
      ++out;
    }
    if (out) sendmmsg(s, msgs, (unsigned)out, 0);
  }
}
