/*
 * wshub benchmark load generator: raw sockets, epoll, pre-built masked frames.
 *
 * Modes
 *   echo   N connections, K messages in flight on each; counts echoed messages per second.
 *   bcast  N subscribers plus one publisher that keeps K messages in flight (a message is
 *          done once every subscriber has it); counts deliveries per second at subscribers.
 *   idle   opens N connections, reports handshakes per second, then holds them until stdin
 *          closes (or --hold seconds pass).
 *   reflect  a minimal C server (echo, or --mode bcast) to measure this program's own capacity.
 *
 * Output (stdout, one JSON object per line)
 *   {"event":"connected",...}      every handshake is done
 *   {"event":"measure_start"}      warm-up is over, counters were reset (not "errors")
 *   {"event":"measure_end"}        the measured window ended
 *   {"event":"result",...}         rates, and this process's own CPU time over the window
 *
 * Cost per message (the load generator must never be the bottleneck)
 *   send     write() straight from `inflight` pre-built masked copies of the frame, as many
 *            frames per call as are due. Echo: a connection's frames are written once all the
 *            events of an epoll round are handled, not after each read (fewer wake-ups of the
 *            server, which the writer pays for on loopback: the C reflector's echo rate rose
 *            up to 10%). (sendfile() from a memfd was tried for big frames: on loopback it cost
 *            more CPU per message than the copy, page by page.)
 *   receive  the server's frames are parsed only as far as needed to count messages (header
 *            and length). Payload bytes of frames of 16 KiB and more are discarded in the kernel
 *            with recv(MSG_TRUNC) (TCP: the data is dropped without being copied to user
 *            space); for those, only the next frame header is read into memory.
 *   verify   during the warm-up (not in the measured window) every data frame is read in full
 *            and checked: FIN, RSV bits, opcode and length as sent, payload byte for byte
 *            (unmasked with the frame's key when the peer echoes masked frames, as the reflector
 *            does). The result has "verify":{"on","verified","errors"}; --no-verify turns it off.
 *            Not done with --rsv1 (the server's frames are compressed).
 *   tcp      our sockets use CUBIC (--cc): with BBR (this machine's default) the pacing cost the
 *            sender about 40% more CPU per 1 MiB message on loopback.
 * Sockets are closed with SO_LINGER 0 so that repeated runs leave no TIME_WAIT entries behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { MODE_ECHO, MODE_BCAST, MODE_IDLE };
enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_DEAD };

typedef struct {
  int fd;
  int state;
  int publisher;
  int want_out;       /* EPOLLOUT registered */
  int hlen;           /* bytes of the HTTP response head seen so far */
  char head[1024];
  uint8_t hdr[14];    /* partial frame header */
  int hdrlen;
  int counts;         /* the frame in progress ends a data message */
  uint64_t skip;      /* payload bytes of the current frame still to skip */
  uint64_t flen;      /* payload length of the current frame */
  int big;            /* the last frame header announced >= TRUNC_MIN bytes: read headers only */
  int vok;            /* the current frame is being verified and matches so far */
  int masked;
  uint8_t key[4];     /* the current frame's masking key (a reflector echoes masked frames) */
  uint64_t to_send;   /* frames queued for writing */
  size_t off;         /* bytes of the current frame already written */
  int dirty;          /* in dirty[]: written after this epoll round */
} conn_t;

static struct {
  int mode;
  const char *host;
  int port;
  const char *path;
  int conns;
  int inflight;
  size_t size;
  int binary;
  double warmup;
  double duration;
  int concurrency;
  double hold;
  double timeout;
  const char *extensions;   /* Sec-WebSocket-Extensions offered, or NULL */
  const char *payload_file; /* pre-built payload (e.g. already deflated), sent with RSV1 when --rsv1 */
  int rsv1;
  int verify;               /* check echoed/broadcast frames during the warm-up */
  int sockbuf;              /* SO_SNDBUF/SO_RCVBUF, 0: kernel autotuning */
  int trunc;                /* big payloads dropped with recv(MSG_TRUNC) */
  const char *cc;           /* TCP_CONGESTION for our sockets, NULL ("--cc default"): the system's */
} opt = {MODE_ECHO, "127.0.0.1", 0, "/", 100, 16, 32, 0, 1.0, 3.0, 256, 120.0, 60.0, NULL, NULL, 0, 1, 0, 1, "cubic"};

/* Payloads of at least this size are dropped with recv(MSG_TRUNC) instead of being read. */
#define TRUNC_MIN 16384
/* The longest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
#define MAX_HDR 14
static uint8_t *file_payload;

static conn_t *conns;
static uint32_t *dirty; /* echo: connections with frames due, written once this round's events are handled */
static int ndirty;
static int nconns;        /* total sockets: subscribers/echo connections plus the publisher */
static int epfd;
static uint8_t *frames;   /* `inflight` copies of the pre-built masked frame */
static size_t frame_len;
static uint8_t *payload;  /* the unmasked payload, for verification */
static int phase;         /* 0 handshakes, 1 warm-up, 2 measuring, 3 holding (idle) */
static uint8_t *rbuf;
static size_t rbuf_len;
static char request[512];
static size_t request_len;

static uint64_t received;   /* echoed messages (echo) or subscriber deliveries (bcast) */
static uint64_t published;  /* bcast: frames issued to the publisher */
static uint64_t published_at_start;
static uint64_t delivered_total; /* bcast: deliveries since the start, never reset */
static uint64_t bytes_in;
static uint64_t errors;
static uint64_t verified, verify_errors;
static int open_count, started_count, pending_count;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
  *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return *user + *sys;
}

static void die(const char *what) {
  printf("{\"event\":\"error\",\"message\":\"%s: %s\"}\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen reflect [--mode echo|bcast] [--port 0] [--cc cubic|default]\n"
          "       loadgen echo|bcast|idle --port P [--host H] [--path /] [--conns N] [--inflight K]\n"
          "       [--size BYTES] [--binary] [--warmup S] [--duration S] [--concurrency C] [--hold S] [--timeout S]\n"
          "       [--extensions 'permessage-deflate; ...'] [--payload-file FILE --rsv1]\n"
          "       [--no-verify] [--no-trunc] [--sockbuf BYTES] [--cc cubic|bbr|reno|default]\n"
          "  --no-verify  skip the checks of received frames during the warm-up\n"
          "  --no-trunc   read big payloads into memory instead of dropping them with recv(MSG_TRUNC)\n"
          "  --sockbuf    fixed SO_SNDBUF/SO_RCVBUF (default: kernel autotuning)\n"
          "  --cc         TCP congestion control of our sockets (default cubic; 'default': the system's)\n");
  exit(2);
}

static void build_frame(void) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t hl = 2 + 4 + (opt.size < 126 ? 0 : opt.size < 65536 ? 2 : 8);
  frame_len = hl + opt.size;
  int copies = opt.inflight < 1 ? 1 : opt.inflight;
  frames = malloc(frame_len * copies);
  if (!frames) die("malloc");
  uint8_t *f = frames;
  f[0] = 0x80 | (opt.rsv1 ? 0x40 : 0) | (opt.binary ? 0x2 : 0x1);
  size_t p = 2;
  if (opt.size < 126) {
    f[1] = 0x80 | (uint8_t)opt.size;
  } else if (opt.size < 65536) {
    f[1] = 0x80 | 126;
    f[2] = opt.size >> 8;
    f[3] = opt.size & 0xff;
    p = 4;
  } else {
    f[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) f[2 + i] = (uint8_t)((uint64_t)opt.size >> (56 - 8 * i));
    p = 10;
  }
  memcpy(f + p, key, 4);
  p += 4;
  payload = malloc(opt.size ? opt.size : 1);
  if (!payload) die("malloc");
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < opt.size; i++) {
    uint8_t b;
    if (file_payload) {
      b = file_payload[i];
    } else if (opt.binary) {
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      b = (uint8_t)x;
    } else {
      b = (uint8_t)('a' + i % 26); /* ASCII: valid UTF-8 */
    }
    payload[i] = b;
    f[p + i] = b ^ key[i & 3];
  }
  for (int c = 1; c < copies; c++) memcpy(frames + c * frame_len, frames, frame_len);
}

/* Frames are checked during the warm-up only (see the top of the file). */
static int verifying(void) { return opt.verify && phase < 2; }

static void set_events(conn_t *c, int out) {
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - conns)};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
  c->want_out = out;
}

static void kill_conn(conn_t *c) {
  if (c->state == ST_DEAD) return;
  if (c->state != ST_OPEN) pending_count--;
  else open_count--;
  errors++;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->state = ST_DEAD;
}

static void start_conn(conn_t *c, struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct linger lg = {1, 0}; /* close with RST: no TIME_WAIT left behind between runs */
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (opt.cc) setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, opt.cc, strlen(opt.cc));
  if (opt.sockbuf > 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &opt.sockbuf, sizeof opt.sockbuf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opt.sockbuf, sizeof opt.sockbuf);
  }
  c->fd = fd;
  c->state = ST_CONNECTING;
  if (connect(fd, (struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS) die("connect");
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(c - conns)};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
  c->want_out = 1;
  started_count++;
  pending_count++;
}

/* Writes queued frames until done or the socket is full. */
static void flush(conn_t *c) {
  while (c->to_send > 0) {
    size_t cap = (size_t)(opt.inflight < 1 ? 1 : opt.inflight) * frame_len;
    size_t want = c->to_send * frame_len - c->off;
    if (want > cap - c->off) want = cap - c->off;
    ssize_t w = write(c->fd, frames + c->off, want);
    if (w < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      kill_conn(c);
      return;
    }
    size_t off = c->off + (size_t)w;
    size_t done = off / frame_len;
    c->to_send -= done;
    c->off = off - done * frame_len;
  }
  int out = c->to_send > 0;
  if (out != c->want_out) set_events(c, out);
}

/* Verification: do these `n` payload bytes of the current frame (unmasked with its key if it is masked) match? */
static int payload_matches(const conn_t *c, const uint8_t *b, size_t n) {
  uint64_t off = c->flen - c->skip;
  if (!c->masked) return memcmp(b, payload + off, n) == 0;
  uint8_t tmp[4096];
  while (n > 0) {
    size_t k = n < sizeof tmp ? n : sizeof tmp;
    for (size_t j = 0; j < k; j++) tmp[j] = b[j] ^ c->key[(off + j) & 3];
    if (memcmp(tmp, payload + off, k) != 0) return 0;
    b += k;
    off += k;
    n -= k;
  }
  return 1;
}

/* Counts complete data messages in server bytes; skips payloads (and checks them while verifying). */
static uint64_t consume(conn_t *c, const uint8_t *b, size_t n) {
  uint64_t msgs = 0;
  size_t i = 0;
  while (i < n) {
    if (c->skip > 0) {
      size_t take = n - i < c->skip ? n - i : (size_t)c->skip;
      if (c->vok && !payload_matches(c, b + i, take)) {
        verify_errors++;
        c->vok = 0;
      }
      c->skip -= take;
      i += take;
      if (c->skip == 0 && c->counts) {
        msgs++;
        if (c->vok) verified++;
        c->vok = 0;
      }
      continue;
    }
    const uint8_t *h;
    size_t avail;
    if (c->hdrlen == 0) {
      h = b + i;
      avail = n - i;
    } else {
      h = c->hdr;
      avail = c->hdrlen;
    }
    size_t need = 2;
    if (avail >= 2) {
      uint8_t l7 = h[1] & 0x7f;
      need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
    }
    if (avail < need) {
      if (c->hdrlen == 0) {
        /* stash what is there and continue byte by byte */
        memcpy(c->hdr, b + i, n - i);
        c->hdrlen = (int)(n - i);
        i = n;
      } else {
        c->hdr[c->hdrlen++] = b[i++];
      }
      continue;
    }
    uint8_t l7 = h[1] & 0x7f;
    uint64_t len = l7;
    if (l7 == 126) len = ((uint64_t)h[2] << 8) | h[3];
    else if (l7 == 127) {
      len = 0;
      for (int k = 0; k < 8; k++) len = (len << 8) | h[2 + k];
    }
    uint8_t op = h[0] & 0x0f;
    c->counts = (h[0] & 0x80) && op < 8;
    if (op == 0x8) { /* the server is closing */
      kill_conn(c);
      return msgs;
    }
    c->masked = (h[1] & 0x80) != 0;
    if (c->masked) memcpy(c->key, h + need - 4, 4);
    c->flen = len;
    c->big = len >= TRUNC_MIN;
    c->vok = 0;
    if (c->counts && op != 0 && verifying() && !opt.rsv1) {
      /* an unfragmented data message: it must be what was sent (RSV bits clear, same opcode and length) */
      if ((h[0] & 0x70) != 0 || op != (opt.binary ? 0x2 : 0x1) || len != opt.size) verify_errors++;
      else c->vok = 1;
    }
    if (c->hdrlen == 0) i += need;
    c->hdrlen = 0;
    c->skip = len;
    if (len == 0 && c->counts) {
      msgs++;
      if (c->vok) verified++;
      c->vok = 0;
    }
  }
  return msgs;
}

/*
 * Reads what an open connection has and returns the number of complete data messages. Payloads of
 * big frames are dropped in the kernel (recv MSG_TRUNC: no copy to user space), and while a
 * connection receives big frames only the next header (plus the rest of a short payload) is read
 * into memory. Stops once a call returns less than it asked for (the socket is drained; epoll is
 * level-triggered, so anything that arrives later is reported again) or after a few rounds.
 */
/* What a read or recv result means for the loop over a readable connection. */
enum { IO_DATA, IO_RETRY, IO_STOP };
static int read_result(conn_t *c, ssize_t r) {
  if (r > 0) return IO_DATA;
  if (r < 0 && errno == EINTR) return IO_RETRY;
  if (!(r < 0 && errno == EAGAIN)) kill_conn(c); /* EOF or a real error */
  return IO_STOP;
}

static uint64_t on_readable(conn_t *c) {
  uint64_t msgs = 0;
  for (int round = 0; round < 64 && c->state == ST_OPEN; round++) {
    int fast = !verifying() && opt.trunc;
    if (fast && c->skip >= TRUNC_MIN) {
      size_t want = c->skip > (1u << 30) ? (1u << 30) : (size_t)c->skip;
      ssize_t r = recv(c->fd, NULL, want, MSG_TRUNC | MSG_DONTWAIT);
      int st = read_result(c, r);
      if (st == IO_RETRY) continue;
      if (st == IO_STOP) break;
      bytes_in += (uint64_t)r;
      c->skip -= (uint64_t)r;
      c->vok = 0;
      if (c->skip == 0 && c->counts) msgs++;
      if ((size_t)r < want) break;
      continue;
    }
    size_t want = fast && c->big ? (size_t)c->skip + MAX_HDR : rbuf_len;
    ssize_t r = read(c->fd, rbuf, want);
    int st = read_result(c, r);
    if (st == IO_RETRY) continue;
    if (st == IO_STOP) break;
    bytes_in += (uint64_t)r;
    msgs += consume(c, rbuf, (size_t)r);
    if ((size_t)r < want) break;
  }
  return msgs;
}

/* bcast: keeps `inflight` messages outstanding (issued minus delivered to every subscriber). */
static void top_up(void) {
  conn_t *p = &conns[nconns - 1];
  uint64_t complete = delivered_total / (uint64_t)opt.conns;
  uint64_t want = complete + (uint64_t)opt.inflight;
  if (p->state == ST_OPEN && published < want) {
    p->to_send += want - published;
    published = want;
    flush(p);
  }
}

static void on_open(conn_t *c) {
  c->state = ST_OPEN;
  pending_count--;
  open_count++;
}

/* Reads the HTTP response head; returns bytes of the buffer that belong to frames, or -1. */
static ssize_t read_head(conn_t *c, const uint8_t *b, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (c->hlen >= (int)sizeof c->head) return -1;
    c->head[c->hlen++] = (char)b[i++];
    if (c->hlen >= 4 && memcmp(c->head + c->hlen - 4, "\r\n\r\n", 4) == 0) {
      if (c->hlen < 12 || memcmp(c->head, "HTTP/1.1 101", 12) != 0) return -1;
      c->head[c->hlen - 1] = 0;
      if (opt.rsv1 && !strcasestr(c->head, "permessage-deflate")) {
        printf("{\"event\":\"error\",\"message\":\"the server declined permessage-deflate\"}\n");
        fflush(stdout);
        exit(1);
      }
      on_open(c);
      return (ssize_t)i;
    }
  }
  return 0;
}

static void print_cpu(double u0, double s0, double u1, double s1, double secs) {
  printf("\"cpu\":{\"user\":%.4f,\"sys\":%.4f,\"total\":%.4f,\"util\":%.4f}", u1 - u0, s1 - s0, (u1 - u0) + (s1 - s0),
         secs > 0 ? ((u1 - u0) + (s1 - s0)) / secs : 0.0);
}

/* ---------------------------------------------------------------------------------------------
 * reflect: a minimal C WebSocket peer used only to measure the load generator's own capacity (how
 * fast it goes when the server costs next to nothing). It answers the upgrade with a fixed 101 (the
 * load generator does not check Sec-WebSocket-Accept), then
 *   echo   returns every byte it receives unchanged: splice() from the socket into a pipe and from
 *          the pipe back into the socket, so the data never enters user space and is not unmasked.
 *          The load generator thus gets its own masked frames back (a real server must not mask,
 *          RFC 6455 §5.1; the load generator accepts both and unmasks when it verifies).
 *   bcast  parses each read from any connection (the publisher), unmasks the messages, frames all
 *          of that read once, and writes the batch to every open connection with one write() each.
 * Control: prints {"port":N}; stdin "gc" answers {"gc":false,...}; "exit" or EOF ends it.
 */
typedef struct {
  int open;
  int hlen;
  char head[2048];
  uint8_t *in, *out;
  size_t inlen, incap, outlen, outcap, outoff;
  uint32_t events;  /* registered epoll events */
  int idx;          /* position in ropen[] */
  int pr, pw;       /* echo: the pipe that carries the bytes back */
  size_t pipecap;
  size_t inpipe;    /* echo: bytes in the pipe not yet written back */
  int way;          /* echo: 0 not known yet, 1 splice(), 2 read()/write() (see recho) */
} rconn_t;

static rconn_t **rconns;
static int rcap;
static int *ropen; /* fds of the connections past the handshake, for bcast */
static int nopen;

static void rgrow(uint8_t **b, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t c = *cap ? *cap : 4096;
  while (c < need) c *= 2;
  *b = realloc(*b, c);
  if (!*b) die("realloc");
  *cap = c;
}

static void rset_events(int fd, uint32_t events) {
  rconn_t *r = rconns[fd];
  if (r->events == events) return;
  struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  r->events = events;
}

static void rclose(int fd) {
  rconn_t *r = rconns[fd];
  if (!r) return;
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  if (r->pr >= 0) close(r->pr);
  if (r->pw >= 0) close(r->pw);
  if (r->open) {
    int last = ropen[--nopen];
    ropen[r->idx] = last;
    if (rconns[last]) rconns[last]->idx = r->idx;
  }
  free(r->in);
  free(r->out);
  free(r);
  rconns[fd] = NULL;
}

/* Writes the user-space output buffer (the 101, bcast batches); EPOLLOUT while some is left. */
static void rflush(int fd) {
  rconn_t *r = rconns[fd];
  while (r->outoff < r->outlen) {
    ssize_t w = write(fd, r->out + r->outoff, r->outlen - r->outoff);
    if (w < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      rclose(fd);
      return;
    }
    r->outoff += (size_t)w;
  }
  if (r->outoff == r->outlen) r->outoff = r->outlen = 0;
  rset_events(fd, EPOLLIN | (r->outlen > 0 ? EPOLLOUT : 0));
}

static void rappend(rconn_t *r, const uint8_t *b, size_t n) {
  rgrow(&r->out, &r->outcap, r->outlen + n);
  memcpy(r->out + r->outlen, b, n);
  r->outlen += n;
}

/*
 * echo, after the handshake. The bytes go back exactly as they came, without parsing or unmasking
 * them, one of two ways, chosen once per connection from the length in the first frame header
 * (peeked, so not consumed):
 *   - messages under COPY_MIN: one splice() from the socket into a pipe per EPOLLIN, then splice()
 *     from the pipe into the socket; the data never enters user space.
 *   - messages of COPY_MIN and more: one read() of up to 1 MiB into a buffer and one write() of
 *     the same bytes. (With 1 MiB messages the page-by-page pipe handling of splice() cost this
 *     reflector more than the two copies; with 64 KiB messages splice() was cheaper.)
 * While bytes wait for a full socket (pipe or buffer not empty), only EPOLLOUT is watched: no
 * reading meanwhile, which is the backpressure. No extra call to find out that a socket is drained:
 * epoll is level-triggered.
 */
#define COPY_MIN (256 * 1024)
static uint8_t *rbuf_echo;
static size_t rbuf_echo_len = 1 << 20;

static void recho(int fd, uint32_t events) {
  rconn_t *r = rconns[fd];
  int readable = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
  if (r->way == 0) { /* the first data after the 101: which way? */
    if (!readable) return;
    uint8_t h[10];
    ssize_t n = recv(fd, h, sizeof h, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      rclose(fd);
      return;
    }
    uint64_t len = n >= 2 ? (h[1] & 0x7f) : 0;
    if (n < 2 || (len == 126 && n < 4) || (len == 127 && n < 10)) return; /* level-triggered: asked again */
    if (len == 126) len = ((uint64_t)h[2] << 8) | h[3];
    else if (len == 127) {
      len = 0;
      for (int k = 0; k < 8; k++) len = (len << 8) | h[2 + k];
    }
    r->way = len >= COPY_MIN ? 2 : 1;
  }
  if (r->way == 2) {
    if (r->outlen > 0) { /* EPOLLOUT: the rest of the last read */
      rflush(fd);
      if (rconns[fd] && r->outlen > 0) rset_events(fd, EPOLLOUT);
      return;
    }
    if (!readable) return;
    ssize_t got = read(fd, rbuf_echo, rbuf_echo_len);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      rclose(fd);
      return;
    }
    if (got < 0) return;
    size_t w = 0;
    while (w < (size_t)got) {
      ssize_t k = write(fd, rbuf_echo + w, (size_t)got - w);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        rclose(fd);
        return;
      }
      w += (size_t)k;
    }
    if (w < (size_t)got) {
      rappend(r, rbuf_echo + w, (size_t)got - w);
      rset_events(fd, EPOLLOUT);
    }
    return;
  }
  if (readable && r->inpipe == 0) {
    ssize_t n;
    do n = splice(fd, NULL, r->pw, NULL, r->pipecap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      rclose(fd);
      return;
    }
    if (n > 0) r->inpipe = (size_t)n;
  }
  while (r->inpipe > 0) {
    ssize_t w = splice(r->pr, NULL, fd, NULL, r->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (w < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      rclose(fd);
      return;
    }
    r->inpipe -= (size_t)w;
  }
  rset_events(fd, r->inpipe > 0 ? EPOLLOUT : EPOLLIN);
}

static int reflect_main(int bcast) {
  signal(SIGPIPE, SIG_IGN); /* a peer that resets: EPIPE from write()/splice(), not a signal */
  static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  rcap = (int)(rl.rlim_cur > 1048576 ? 1048576 : rl.rlim_cur);
  rconns = calloc((size_t)rcap, sizeof *rconns);
  ropen = calloc((size_t)rcap, sizeof *ropen);
  if (!rconns || !ropen) die("calloc");
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(opt.port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) die("bind/listen");
  socklen_t alen = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &alen);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX - 1};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.u32 = UINT32_MAX;
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
  printf("{\"port\":%d}\n", ntohs(addr.sin_port));
  fflush(stdout);
  uint8_t *batch = NULL;
  size_t batchlen = 0, batchcap = 0;
  size_t buflen = 1 << 20;
  uint8_t *buf = malloc(buflen);
  rbuf_echo = buf;
  if (!buf) die("malloc");
  struct epoll_event evs[512];
  char line[256];
  size_t linelen = 0;
  for (;;) {
    int n = epoll_wait(epfd, evs, 512, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      uint32_t id = evs[e].data.u32;
      if (id == UINT32_MAX) {
        ssize_t r = read(0, line + linelen, sizeof line - 1 - linelen);
        if (r <= 0) return 0;
        linelen += (size_t)r;
        line[linelen] = 0;
        char *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
          *nl = 0;
          if (!strcmp(line, "exit")) return 0;
          if (!strcmp(line, "gc")) printf("{\"gc\":false,\"heapUsed\":0,\"external\":0,\"arrayBuffers\":0}\n");
          fflush(stdout);
          size_t rest = linelen - (size_t)(nl + 1 - line);
          memmove(line, nl + 1, rest + 1);
          linelen = rest;
        }
        if (linelen >= sizeof line - 1) linelen = 0;
        continue;
      }
      if (id == UINT32_MAX - 1) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          if (fd >= rcap) {
            close(fd);
            continue;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (opt.cc) setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, opt.cc, strlen(opt.cc));
          rconn_t *r = calloc(1, sizeof(rconn_t));
          if (!r) die("calloc");
          r->pr = r->pw = -1;
          if (!bcast) {
            int p[2];
            if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
              close(fd);
              free(r);
              continue;
            }
            r->pr = p[0];
            r->pw = p[1];
            fcntl(r->pw, F_SETPIPE_SZ, 1 << 20); /* may be refused (pipe-user-pages-soft): then the default */
            int sz = fcntl(r->pw, F_GETPIPE_SZ);
            r->pipecap = sz > 0 ? (size_t)sz : 65536;
          }
          rconns[fd] = r;
          r->events = EPOLLIN;
          struct epoll_event cev = {.events = EPOLLIN, .data.u32 = (uint32_t)fd};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      int fd = (int)id;
      rconn_t *r = rconns[fd];
      if (!r) continue;
      uint32_t events = evs[e].events;
      if (r->open && !bcast && (r->outlen == 0 || r->way == 2)) {
        recho(fd, events);
        continue;
      }
      if (events & EPOLLOUT) {
        rflush(fd);
        if (!rconns[fd]) continue;
        if (r->open && !bcast && r->outlen == 0) continue; /* from now on, recho() */
      }
      if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      if (r->outlen > 0 && !bcast) continue; /* echo: the 101 first */
      ssize_t got = read(fd, buf, buflen);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        rclose(fd);
        continue;
      }
      size_t i = 0;
      if (!r->open) {
        while (i < (size_t)got && !r->open) {
          if (r->hlen >= (int)sizeof r->head) break;
          r->head[r->hlen++] = (char)buf[i++];
          if (r->hlen >= 4 && memcmp(r->head + r->hlen - 4, "\r\n\r\n", 4) == 0) {
            r->open = 1;
            r->idx = nopen;
            ropen[nopen++] = fd;
            rappend(r, (const uint8_t *)resp, sizeof resp - 1);
          }
        }
        if (!r->open) {
          if (r->hlen >= (int)sizeof r->head) rclose(fd);
          continue;
        }
        if (!bcast) {
          /* echo: bytes that came with the head go back as they are, like everything after them */
          rappend(r, buf + i, (size_t)got - i);
          rflush(fd);
          continue;
        }
      }
      /* bcast: frame every message of this read once, then append the batch to every connection */
      rgrow(&r->in, &r->incap, r->inlen + ((size_t)got - i));
      memcpy(r->in + r->inlen, buf + i, (size_t)got - i);
      r->inlen += (size_t)got - i;
      size_t p = 0;
      while (r->inlen - p >= 2) {
        uint8_t *h = r->in + p;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) hl = 4;
        else if (len == 127) hl = 10;
        int masked = h[1] & 0x80;
        if (masked) hl += 4;
        if (r->inlen - p < hl) break;
        if (len == 126) len = ((uint64_t)h[2] << 8) | h[3];
        else if (len == 127) {
          len = 0;
          for (int k = 0; k < 8; k++) len = (len << 8) | h[2 + k];
        }
        if (r->inlen - p < hl + len) break;
        if ((h[0] & 0x0f) == 0x8) {
          rclose(fd);
          r = NULL;
          break;
        }
        uint8_t *pl = h + hl;
        if (masked) {
          const uint8_t *key = pl - 4;
          uint32_t k32;
          memcpy(&k32, key, 4);
          uint64_t k64 = ((uint64_t)k32 << 32) | k32, w;
          uint64_t k = 0;
          for (; k + 8 <= len; k += 8) {
            memcpy(&w, pl + k, 8);
            w ^= k64;
            memcpy(pl + k, &w, 8);
          }
          for (; k < len; k++) pl[k] ^= key[k & 3];
        }
        uint8_t oh[10];
        size_t ohl = 2;
        oh[0] = h[0];
        if (len < 126) oh[1] = (uint8_t)len;
        else if (len < 65536) {
          oh[1] = 126;
          oh[2] = (uint8_t)(len >> 8);
          oh[3] = (uint8_t)len;
          ohl = 4;
        } else {
          oh[1] = 127;
          for (int k = 0; k < 8; k++) oh[2 + k] = (uint8_t)(len >> (56 - 8 * k));
          ohl = 10;
        }
        rgrow(&batch, &batchcap, batchlen + ohl + len);
        memcpy(batch + batchlen, oh, ohl);
        memcpy(batch + batchlen + ohl, pl, len);
        batchlen += ohl + len;
        p += hl + len;
      }
      if (r) {
        memmove(r->in, r->in + p, r->inlen - p);
        r->inlen -= p;
      }
      if (batchlen > 0) {
        /* rclose() inside rflush() moves the last entry into the closed one's slot: walk backwards */
        for (int k = nopen - 1; k >= 0; k--) {
          if (k >= nopen) continue;
          int c = ropen[k];
          rappend(rconns[c], batch, batchlen);
          rflush(c);
        }
        batchlen = 0;
      } else if (r && r->outlen > 0) {
        rflush(fd);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  signal(SIGPIPE, SIG_IGN); /* a server that resets: EPIPE from write(), not a signal */
  if (!strcmp(argv[1], "echo")) opt.mode = MODE_ECHO;
  else if (!strcmp(argv[1], "bcast")) opt.mode = MODE_BCAST;
  else if (!strcmp(argv[1], "idle")) opt.mode = MODE_IDLE;
  else if (!strcmp(argv[1], "reflect")) {
    int bc = 0;
    for (int i = 2; i < argc; i++) {
      if (!strcmp(argv[i], "--bcast") || (!strcmp(argv[i], "--mode") && i + 1 < argc && !strcmp(argv[i + 1], "bcast"))) bc = 1;
      if (!strcmp(argv[i], "--port") && i + 1 < argc) opt.port = atoi(argv[i + 1]);
      if (!strcmp(argv[i], "--cc") && i + 1 < argc) opt.cc = strcmp(argv[i + 1], "default") ? argv[i + 1] : NULL;
    }
    return reflect_main(bc);
  } else usage();
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
    if (ARG("--host")) opt.host = v;
    else if (ARG("--port")) opt.port = atoi(v);
    else if (ARG("--path")) opt.path = v;
    else if (ARG("--conns")) opt.conns = atoi(v);
    else if (ARG("--inflight")) opt.inflight = atoi(v);
    else if (ARG("--size")) opt.size = strtoull(v, NULL, 10);
    else if (ARG("--warmup")) opt.warmup = atof(v);
    else if (ARG("--duration")) opt.duration = atof(v);
    else if (ARG("--concurrency")) opt.concurrency = atoi(v);
    else if (ARG("--hold")) opt.hold = atof(v);
    else if (ARG("--timeout")) opt.timeout = atof(v);
    else if (ARG("--extensions")) opt.extensions = v;
    else if (ARG("--payload-file")) opt.payload_file = v;
    else if (!strcmp(a, "--rsv1")) opt.rsv1 = 1;
    else if (!strcmp(a, "--binary")) opt.binary = 1;
    else if (!strcmp(a, "--no-verify")) opt.verify = 0;
    else if (!strcmp(a, "--no-trunc")) opt.trunc = 0;
    else if (ARG("--sockbuf")) opt.sockbuf = atoi(v);
    else if (ARG("--cc")) opt.cc = strcmp(v, "default") ? v : NULL;
    else usage();
#undef ARG
  }
  if (opt.port <= 0 || opt.conns <= 0 || opt.inflight <= 0 || opt.concurrency <= 0) usage();

  /* Raise the descriptor limit to the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  nconns = opt.conns + (opt.mode == MODE_BCAST ? 1 : 0);
  if ((rlim_t)nconns + 16 > rl.rlim_cur) {
    printf("{\"event\":\"error\",\"message\":\"need %d descriptors, limit is %llu\"}\n", nconns + 16,
           (unsigned long long)rl.rlim_cur);
    return 1;
  }

  if (opt.payload_file) {
    FILE *pf = fopen(opt.payload_file, "rb");
    if (!pf) die("payload file");
    fseek(pf, 0, SEEK_END);
    long n = ftell(pf);
    fseek(pf, 0, SEEK_SET);
    file_payload = malloc(n > 0 ? (size_t)n : 1);
    if (!file_payload || fread(file_payload, 1, (size_t)n, pf) != (size_t)n) die("payload file read");
    fclose(pf);
    opt.size = (size_t)n;
  }
  build_frame();
  rbuf_len = opt.size > 256 * 1024 ? 1024 * 1024 : 256 * 1024;
  rbuf = malloc(rbuf_len);
  conns = calloc(nconns, sizeof *conns);
  dirty = calloc(nconns, sizeof *dirty);
  if (!rbuf || !conns || !dirty) die("malloc");
  if (opt.mode == MODE_BCAST) conns[nconns - 1].publisher = 1;
  char ext[300] = "";
  if (opt.extensions) snprintf(ext, sizeof ext, "Sec-WebSocket-Extensions: %s\r\n", opt.extensions);
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                                 opt.path, opt.host, opt.port, ext);

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(opt.port)};
  if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) usage();
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  if (opt.mode == MODE_IDLE) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
  }

  const int maxev = 1024;
  struct epoll_event *evs = calloc(maxev, sizeof *evs);
  double t_begin = now();
  double hs_begin = t_begin, hs_end = 0;
  double phase_at = 0;
  double u0 = 0, s0 = 0, u1, s1;
  int stdin_closed = 0;

  while (started_count < nconns && pending_count < opt.concurrency) start_conn(&conns[started_count], &addr);

  for (;;) {
    int n = epoll_wait(epfd, evs, maxev, 20);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      uint32_t id = evs[e].data.u32;
      if (id == UINT32_MAX) { /* stdin (idle mode): any input or EOF ends the hold */
        char tmp[64];
        ssize_t r = read(0, tmp, sizeof tmp);
        (void)r;
        stdin_closed = 1;
        epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
        continue;
      }
      conn_t *c = &conns[id];
      if (c->state == ST_DEAD) continue;
      uint32_t ev = evs[e].events;
      if (c->state == ST_CONNECTING) {
        if (ev & (EPOLLERR | EPOLLHUP)) {
          kill_conn(c);
          continue;
        }
        if (ev & EPOLLOUT) {
          ssize_t w = write(c->fd, request, request_len); /* fits in an empty socket buffer */
          if (w != (ssize_t)request_len) {
            kill_conn(c);
            continue;
          }
          c->state = ST_HANDSHAKE;
          set_events(c, 0);
        }
        continue;
      }
      if (ev & EPOLLIN) {
        uint64_t m;
        if (c->state == ST_HANDSHAKE) {
          ssize_t r = read(c->fd, rbuf, rbuf_len);
          if (r <= 0) {
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            kill_conn(c);
            continue;
          }
          const uint8_t *b = rbuf;
          size_t len = (size_t)r;
          ssize_t used = read_head(c, b, len);
          if (used < 0) {
            kill_conn(c);
            continue;
          }
          if (c->state != ST_OPEN) continue;
          b += used;
          len -= (size_t)used;
          if (started_count < nconns) start_conn(&conns[started_count], &addr);
          if (open_count == nconns) hs_end = now();
          /* echo: connections start sending once every handshake is done (below) */
          bytes_in += len;
          m = consume(c, b, len);
        } else {
          m = on_readable(c);
        }
        if (c->state == ST_DEAD) continue;
        if (opt.mode == MODE_ECHO) {
          received += m;
          if (m > 0 && phase >= 1) {
            c->to_send += m;
            if (!c->dirty) {
              c->dirty = 1;
              dirty[ndirty++] = id;
            }
          }
        } else if (opt.mode == MODE_BCAST && !c->publisher) {
          received += m;
          delivered_total += m;
          /* top up during a sweep over many subscribers too, so the server is never left idle */
          if (m > 0 && (e & 63) == 63 && phase >= 1) top_up();
        }
      }
      if ((ev & EPOLLOUT) && c->state == ST_OPEN) flush(c);
      else if ((ev & (EPOLLERR | EPOLLHUP)) && !(ev & EPOLLIN)) kill_conn(c);
    }
    /* Echo: the frames due are written after every read of the round, not after each read: writes spread
       between reads woke the server's process once each (on loopback the writer pays for the wake-up). */
    for (int i = 0; i < ndirty; i++) {
      conn_t *d = &conns[dirty[i]];
      d->dirty = 0;
      if (d->state == ST_OPEN) flush(d);
    }
    ndirty = 0;
    /* A handshake that failed (kill_conn) frees its place too: the next connections start, so that failures end
       in the "handshakes failed" report below rather than in a stalled pipeline and a timeout. */
    while (phase == 0 && started_count < nconns && pending_count < opt.concurrency) start_conn(&conns[started_count], &addr);

    double t = now();
    if (phase == 0) {
      if (pending_count == 0 && started_count == nconns) {
        if (open_count < nconns) {
          printf("{\"event\":\"error\",\"message\":\"%d of %d handshakes failed\"}\n", nconns - open_count, nconns);
          return 1;
        }
        if (hs_end == 0) hs_end = t;
        double hs = hs_end - hs_begin, hu, hsys;
        printf("{\"event\":\"connected\",\"handshakes\":%d,\"seconds\":%.4f,\"rate\":%.1f,\"cpu\":%.4f}\n", nconns, hs,
               hs > 0 ? nconns / hs : 0.0, cpu_seconds(&hu, &hsys));
        fflush(stdout);
        phase = opt.mode == MODE_IDLE ? 3 : 1;
        phase_at = t;
        if (opt.mode == MODE_ECHO) {
          for (int i = 0; i < nconns; i++) {
            conns[i].to_send = (uint64_t)opt.inflight;
            flush(&conns[i]);
          }
        }
      } else if (t - t_begin > opt.timeout) {
        printf("{\"event\":\"error\",\"message\":\"handshakes timed out: %d open, %d pending of %d\"}\n", open_count,
               pending_count, nconns);
        return 1;
      }
    }
    if (opt.mode == MODE_BCAST && phase >= 1 && phase <= 2) top_up();
    if (phase == 1 && t - phase_at >= opt.warmup) {
      phase = 2;
      phase_at = t;
      received = 0;
      bytes_in = 0; /* errors are not reset: a connection lost during the warm-up fails the run too */
      published_at_start = published;
      cpu_seconds(&u0, &s0);
      printf("{\"event\":\"measure_start\"}\n");
      fflush(stdout);
    } else if (phase == 2 && t - phase_at >= opt.duration) {
      double secs = t - phase_at;
      cpu_seconds(&u1, &s1);
      printf("{\"event\":\"measure_end\"}\n");
      fflush(stdout);
      printf("{\"event\":\"result\",\"mode\":\"%s\",\"conns\":%d,\"inflight\":%d,\"size\":%zu,\"seconds\":%.4f,"
             "\"messages\":%llu,\"rate\":%.1f,\"mbps\":%.2f,",
             opt.mode == MODE_ECHO ? "echo" : "bcast", opt.conns, opt.inflight, opt.size, secs,
             (unsigned long long)received, received / secs, bytes_in / secs / 1e6);
      if (opt.mode == MODE_BCAST)
        printf("\"published\":%llu,\"publish_rate\":%.1f,", (unsigned long long)(published - published_at_start),
               (published - published_at_start) / secs);
      printf("\"errors\":%llu,\"handshake\":{\"count\":%d,\"seconds\":%.4f},", (unsigned long long)errors, nconns,
             hs_end - hs_begin);
      /* verification ran during the warm-up: messages checked, and frames that were not what was sent */
      printf("\"verify\":{\"on\":%s,\"verified\":%llu,\"errors\":%llu},", opt.verify && !opt.rsv1 ? "true" : "false",
             (unsigned long long)verified, (unsigned long long)verify_errors);
      print_cpu(u0, s0, u1, s1, secs);
      printf("}\n");
      fflush(stdout);
      return 0;
    } else if (phase == 3 && (stdin_closed || t - phase_at >= opt.hold)) {
      printf("{\"event\":\"result\",\"mode\":\"idle\",\"conns\":%d,\"open\":%d,\"errors\":%llu,"
             "\"handshake\":{\"count\":%d,\"seconds\":%.4f,\"rate\":%.1f},\"held\":%.3f}\n",
             opt.conns, open_count, (unsigned long long)errors, nconns, hs_end - hs_begin,
             nconns / (hs_end - hs_begin), t - phase_at);
      fflush(stdout);
      return 0;
    }
  }
}
