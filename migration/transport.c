/* The migration channel: URIs, connect/listen, an io_uring sender and a
 * blocking receiver.  See transport.h for the design. */
#include "migration/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "migration/stream.h"

/* liburing 2.3's headers predate these (kernel 6.2 uapi). */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

/* 64 records of up to 512 KiB in flight: 32 MiB, several socket buffers'
 * worth, so the kernel always has the next send ready. */
#define SEND_SLOTS 64u
/* A PAGES record is at most 1 + 128 iovecs (stream.h). */
#define SLOT_MAX_IOV (1u + MIGRATION_BATCH_MAX_PAGES)
/* Holds a PAGES record's metadata (at most 20 + 128 * 16 bytes) or a
 * whole small record. */
#define SLOT_INLINE_BYTES 4096u
#define READ_AHEAD_BYTES (64u * 1024u)
/* Asked for; the kernel doubles it and may clamp it (wmem_max/rmem_max). */
#define SOCKET_BUFFER_BYTES (4 * 1024 * 1024)
/* How long free() waits for an aborted channel's last completions. */
#define FREE_DRAIN_TIMEOUT_MS 2000

#define CHANNEL_ERROR(errp, ...) \
    g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_IO, \
                "migration channel: " __VA_ARGS__)

/* ---- URIs ---- */

#define URI_USAGE "use tcp:HOST:PORT, unix:PATH or fd:N"

static bool uri_error(GError **errp, const char *text, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool uri_error(GError **errp, const char *text, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "migration URI '%s': %s", text,
                why);
    return false;
}

static bool parse_port(const char *text, const char *port, uint16_t *out, GError **errp)
{
    unsigned long value = 0;

    if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
        (value = strtoul(port, NULL, 10)) < 1 || value > 65535)
        return uri_error(errp, text, "port '%s' is not a number from 1 to 65535", port);
    *out = (uint16_t)value;
    return true;
}

static bool parse_tcp(const char *text, const char *rest, MigrationUri *uri, GError **errp)
{
    const char *port;

    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':')
            return uri_error(errp, text, "an IPv6 address is written tcp:[ADDRESS]:PORT");
        uri->host = g_strndup(rest + 1, (gsize)(close - rest - 1));
        struct in6_addr addr;
        if (inet_pton(AF_INET6, uri->host, &addr) != 1)
            return uri_error(errp, text, "'%s' is not an IPv6 address", uri->host);
        port = close + 2;
    } else {
        const char *colon = strrchr(rest, ':');
        if (!colon)
            return uri_error(errp, text, "expected tcp:HOST:PORT");
        uri->host = g_strndup(rest, (gsize)(colon - rest));
        if (strchr(uri->host, ':'))
            return uri_error(errp, text, "an IPv6 address goes in brackets: tcp:[%s]:PORT",
                             uri->host);
        port = colon + 1;
    }
    if (!*uri->host)
        return uri_error(errp, text,
                         "the host is missing: tcp:HOST:PORT (0.0.0.0 or [::] listens on "
                         "every address)");
    return parse_port(text, port, &uri->port, errp);
}

/* Why `fd` cannot carry a stream, or NULL if it is an open stream socket
 * or pipe. */
static const char *stream_fd_problem(int fd)
{
    struct stat st;
    int type = 0;
    socklen_t len = sizeof(type);

    if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) < 0)
        return "no such open file descriptor";
    if (S_ISFIFO(st.st_mode))
        return NULL;
    if (!S_ISSOCK(st.st_mode))
        return "neither a socket nor a pipe";
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
        return "not a stream socket (a datagram socket cannot carry a migration stream)";
    return NULL;
}

static bool check_stream_fd(int fd, const char *name, GError **errp)
{
    const char *problem = stream_fd_problem(fd);

    if (problem)
        CHANNEL_ERROR(errp, "%s: %s", name, problem);
    return !problem;
}

static bool parse_fd(const char *text, const char *rest, MigrationUri *uri, GError **errp)
{
    if (!*rest || strlen(rest) > 9 || strspn(rest, "0123456789") != strlen(rest))
        return uri_error(errp, text, "expected fd:N, N an open file descriptor number");
    uri->fd = (int)strtol(rest, NULL, 10);
    /* Checked now so that a wrong --incoming fails at start-up. */
    const char *problem = stream_fd_problem(uri->fd);
    if (problem)
        return uri_error(errp, text, "%s", problem);
    return true;
}

MigrationUri *migration_uri_parse(const char *text, MigrationUriRole role, GError **errp)
{
    g_autoptr(MigrationUri) uri = g_new0(MigrationUri, 1);
    uri->fd = -1;

    if (!text || !*text) {
        g_set_error(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "migration URI is empty: " URI_USAGE "%s",
                    role == MIGRATION_URI_INCOMING ? " or defer" : "");
        return NULL;
    }
    if (g_str_equal(text, "defer")) {
        if (role != MIGRATION_URI_INCOMING) {
            uri_error(errp, text, "'defer' is only for --incoming; " URI_USAGE);
            return NULL;
        }
        uri->kind = MIGRATION_URI_DEFER;
    } else if (g_str_has_prefix(text, "tcp:")) {
        uri->kind = MIGRATION_URI_TCP;
        if (!parse_tcp(text, text + 4, uri, errp))
            return NULL;
    } else if (g_str_has_prefix(text, "unix:")) {
        uri->kind = MIGRATION_URI_UNIX;
        uri->path = g_strdup(text + 5);
        if (!*uri->path) {
            uri_error(errp, text, "the socket path is missing: unix:PATH");
            return NULL;
        }
        if (strlen(uri->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            uri_error(errp, text, "the path is %zu bytes; a UNIX socket path holds at most %zu",
                      strlen(uri->path), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return NULL;
        }
    } else if (g_str_has_prefix(text, "fd:")) {
        uri->kind = MIGRATION_URI_FD;
        if (!parse_fd(text, text + 3, uri, errp))
            return NULL;
    } else {
        uri_error(errp, text, "unknown transport; " URI_USAGE "%s",
                  role == MIGRATION_URI_INCOMING ? " or defer" : "");
        return NULL;
    }
    return g_steal_pointer(&uri);
}

void migration_uri_free(MigrationUri *uri)
{
    if (!uri)
        return;
    g_free(uri->host);
    g_free(uri->path);
    g_free(uri);
}

char *migration_uri_to_string(const MigrationUri *uri)
{
    switch (uri->kind) {
    case MIGRATION_URI_TCP:
        if (strchr(uri->host, ':'))
            return g_strdup_printf("tcp:[%s]:%u", uri->host, uri->port);
        return g_strdup_printf("tcp:%s:%u", uri->host, uri->port);
    case MIGRATION_URI_UNIX:
        return g_strdup_printf("unix:%s", uri->path);
    case MIGRATION_URI_FD:
        return g_strdup_printf("fd:%d", uri->fd);
    case MIGRATION_URI_DEFER:
        break;
    }
    return g_strdup("defer");
}

/* ---- Sockets ---- */

/* Large buffers keep the sender busy across the receiver's hiccups.  As
 * root the FORCE variants pass net.core.[rw]mem_max.  TCP is left to its
 * autotuning when we cannot get the size: a fixed, clamped SO_SNDBUF would
 * turn autotuning off at a smaller size.  UNIX sockets have no autotuning.
 * Nagle stays on (no TCP_NODELAY): the stream is bulk, and the small
 * records of the final phase are better coalesced. */
static void tune_socket_buffers(int fd, int family)
{
    static const int options[2][2] = { { SO_SNDBUFFORCE, SO_SNDBUF },
                                       { SO_RCVBUFFORCE, SO_RCVBUF } };
    int size = SOCKET_BUFFER_BYTES;

    for (unsigned i = 0; i < 2; i++) {
        if (setsockopt(fd, SOL_SOCKET, options[i][0], &size, sizeof(size)) == 0)
            continue;
        if (family == AF_UNIX)
            setsockopt(fd, SOL_SOCKET, options[i][1], &size, sizeof(size));
    }
}

/* A peer that vanishes (host down, cable out) would otherwise keep a send
 * or a read waiting for many minutes: keepalive probes an idle
 * destination, TCP_USER_TIMEOUT bounds unacknowledged data.  Either ends
 * in ETIMEDOUT. */
static void tune_tcp_liveness(int fd)
{
    int on = 1, idle = 10, interval = 5, count = 3;
    unsigned user_timeout_ms = 30000;

    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
}

static int socket_family(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);

    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        return AF_UNSPEC;
    return addr.ss_family;
}

static char *describe_address(const struct sockaddr *addr, socklen_t len)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];

    if (getnameinfo(addr, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return g_strdup("tcp:(unknown)");
    if (addr->sa_family == AF_INET6)
        return g_strdup_printf("tcp:[%s]:%s", host, port);
    return g_strdup_printf("tcp:%s:%s", host, port);
}

/* connect() that survives a signal: the connection then completes in the
 * background and SO_ERROR has its outcome. */
static int connect_retrying(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (connect(fd, addr, len) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR)
            return -1;
    }
    int err = 0;
    socklen_t errlen = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
        return -1;
    errno = err;
    return err ? -1 : 0;
}

/* ---- The channel ---- */

typedef struct SendSlot {
    struct msghdr msg;
    struct iovec iov[SLOT_MAX_IOV];
    unsigned iovcnt;
    unsigned iov_next; /* first iovec with bytes still to send */
    size_t unsent; /* bytes of iov[iov_next..] not yet sent */
    bool send_pending; /* its send completion is still due */
    bool zero_copy;
    unsigned notifs_pending; /* zero-copy notifications still due */
    uint8_t inline_data[SLOT_INLINE_BYTES];
} SendSlot;

struct MigrationChannel {
    int fd;
    char *name;
    bool is_socket;
    bool is_tcp;

    /* Sending: io_uring, set up by the first write. */
    bool ring_ready;
    bool ring_broken; /* io_uring_enter failed for good: stop waiting on it */
    struct io_uring ring;
    bool zero_copy_supported;
    bool zero_copy;
    bool single_sends; /* tests: unlinked sends without MSG_WAITALL */
    SendSlot *slots; /* record number `seq` lives in slots[seq % SEND_SLOTS] */
    uint64_t next_seq; /* the next record to queue */
    uint64_t unsent_seq; /* the oldest record not completely sent */
    unsigned sends_in_flight; /* send completions due (one chain at most) */
    unsigned notifs_in_flight; /* zero-copy notifications due */

    /* Receiving. */
    uint8_t *read_ahead;
    size_t read_pos, read_len;
    bool eof;

    GError *error; /* the first failure; every later call repeats it */
    MigrationChannelStats stats; /* written by the owner, read with atomics */
};

static void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static const char *errno_hint(int err)
{
    switch (err) {
    case EPIPE:
    case ECONNRESET:
        return " (the peer closed the connection)";
    case ETIMEDOUT:
        return " (the peer stopped answering)";
    default:
        return "";
    }
}

/* Records the first failure; the channel fails every call from now on. */
static void channel_fail(MigrationChannel *ch, const char *what, int err)
{
    if (ch->error)
        return;
    CHANNEL_ERROR(&ch->error, "%s %s failed: %s%s", what, ch->name, g_strerror(err),
                  errno_hint(err));
}

static bool channel_report(MigrationChannel *ch, GError **errp)
{
    if (errp && !*errp)
        *errp = g_error_copy(ch->error);
    return false;
}

MigrationChannel *migration_channel_new_fd(int fd, const char *name, GError **errp)
{
    if (!check_stream_fd(fd, name, errp))
        return NULL;
    MigrationChannel *ch = g_new0(MigrationChannel, 1);
    struct stat st;
    ch->fd = fd;
    ch->name = g_strdup(name);
    ch->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    if (ch->is_socket) {
        int family = socket_family(fd);
        ch->is_tcp = family == AF_INET || family == AF_INET6;
    } else {
        /* Fewer short writes and wake-ups than the default 64 KiB; the
         * kernel refuses above fs.pipe-max-size, which is fine. */
        fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
    }
    return ch;
}

static bool channel_ring_setup(MigrationChannel *ch, GError **errp)
{
    if (ch->ring_ready)
        return true;
    /* One SQE per slot, so a whole chain always fits; the CQ is twice
     * that, room for zero-copy notifications (and the kernel keeps
     * overflowing completions, IORING_FEAT_NODROP).  No COOP_TASKRUN:
     * the next linked send must start while this thread scans dirty
     * bitmaps, not when it next enters the kernel (measured: no
     * difference on loopback). */
    int ret = io_uring_queue_init(SEND_SLOTS, &ch->ring, 0);
    if (ret < 0) {
        CHANNEL_ERROR(errp, "cannot set up io_uring for %s: %s", ch->name, g_strerror(-ret));
        return false;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ch->ring);
    if (!probe || !io_uring_opcode_supported(probe, IORING_OP_SENDMSG) ||
        !io_uring_opcode_supported(probe, IORING_OP_WRITEV)) {
        if (probe)
            io_uring_free_probe(probe);
        io_uring_queue_exit(&ch->ring);
        CHANNEL_ERROR(errp, "this kernel's io_uring cannot send on %s (it lacks "
                            "IORING_OP_SENDMSG; Linux 5.3 or later is needed)", ch->name);
        return false;
    }
    ch->zero_copy_supported = ch->is_tcp && io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
    io_uring_free_probe(probe);
    ch->slots = g_new0(SendSlot, SEND_SLOTS);
    ch->ring_ready = true;
    return true;
}

static SendSlot *slot_of(MigrationChannel *ch, uint64_t seq)
{
    return &ch->slots[seq % SEND_SLOTS];
}

static bool slot_idle(const SendSlot *slot)
{
    return slot->unsent == 0 && !slot->send_pending && slot->notifs_pending == 0;
}

/* `n` more bytes of the slot went out: move its start past them. */
static void slot_consume(SendSlot *slot, size_t n)
{
    slot->unsent -= n;
    while (slot->iov_next < slot->iovcnt) {
        struct iovec *v = &slot->iov[slot->iov_next];
        if (n < v->iov_len) {
            v->iov_base = (uint8_t *)v->iov_base + n;
            v->iov_len -= n;
            return;
        }
        n -= v->iov_len;
        slot->iov_next++;
    }
}

static void slot_prep_send(MigrationChannel *ch, SendSlot *slot, struct io_uring_sqe *sqe)
{
    struct iovec *iov = slot->iov + slot->iov_next;
    unsigned iovcnt = slot->iovcnt - slot->iov_next;
    /* MSG_WAITALL: the kernel retries a partial send itself, and a send
     * that still ends short breaks the link, so nothing behind it can
     * overtake the rest (which we resubmit). */
    int flags = MSG_NOSIGNAL | (ch->single_sends ? 0 : MSG_WAITALL);

    slot->msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = iovcnt };
    if (!ch->is_socket) {
        io_uring_prep_writev(sqe, ch->fd, iov, iovcnt, (uint64_t)-1);
    } else if (slot->zero_copy) {
        io_uring_prep_sendmsg_zc(sqe, ch->fd, &slot->msg, (unsigned)flags);
        sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
        stat_add(&ch->stats.zero_copy_sends, 1);
    } else {
        io_uring_prep_sendmsg(sqe, ch->fd, &slot->msg, (unsigned)flags);
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(slot - ch->slots));
    slot->send_pending = true;
    ch->sends_in_flight++;
    stat_add(&ch->stats.sends, 1);
}

/* Records are sent in order, so the completely sent ones are a prefix.
 * Called after every reap, before a slot can be reused for a new record. */
static void channel_advance_unsent(MigrationChannel *ch)
{
    while (ch->unsent_seq < ch->next_seq && slot_of(ch, ch->unsent_seq)->unsent == 0)
        ch->unsent_seq++;
}

/* Several sends in flight on one stream socket must go out in order, yet
 * a send that waits for socket space lets later, unlinked ones pass it.
 * So queued records go to the kernel as one linked chain, and the next
 * chain starts when this one has completed: it resumes from the first
 * record not completely sent (after a short send or a cancelled link). */
static void channel_start_chain(MigrationChannel *ch)
{
    if (ch->error || ch->sends_in_flight)
        return;
    uint64_t end = ch->next_seq;
    /* A pipe write has no MSG_WAITALL and often ends short when the pipe
     * fills, which would cancel the rest of a chain each time: one at a
     * time there. */
    if ((ch->single_sends || !ch->is_socket) && end > ch->unsent_seq)
        end = ch->unsent_seq + 1;
    for (uint64_t seq = ch->unsent_seq; seq < end; seq++) {
        /* The SQ has SEND_SLOTS entries and no other chain is queued. */
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ch->ring);
        if (!sqe) g_error("no sqe: seq %lu unsent %lu next %lu inflight %u space %u", (unsigned long)seq, (unsigned long)ch->unsent_seq, (unsigned long)ch->next_seq, ch->sends_in_flight, io_uring_sq_space_left(&ch->ring));
        slot_prep_send(ch, slot_of(ch, seq), sqe);
        if (seq + 1 < end)
            sqe->flags |= IOSQE_IO_LINK;
    }
}

static void channel_handle_send(MigrationChannel *ch, SendSlot *slot, const struct io_uring_cqe *cqe)
{
    slot->send_pending = false;
    ch->sends_in_flight--;
    if (cqe->flags & IORING_CQE_F_MORE) {
        /* A zero-copy send: the kernel holds the pages until this comes. */
        slot->notifs_pending++;
        ch->notifs_in_flight++;
    }
    if (cqe->res > 0) {
        size_t sent = MIN((size_t)cqe->res, slot->unsent);
        slot_consume(slot, sent);
        stat_add(&ch->stats.bytes_sent, sent);
        if (slot->unsent)
            stat_add(&ch->stats.short_sends, 1);
    } else if (cqe->res == 0 && slot->unsent) {
        channel_fail(ch, "sending to", EPIPE);
    } else if (cqe->res == -ECANCELED || cqe->res == -EINTR) {
        /* A link broken by a short send before it: resubmitted. */
    } else if (cqe->res == -EOPNOTSUPP && slot->zero_copy) {
        /* The socket cannot do zero-copy after all: send copying. */
        ch->zero_copy = ch->zero_copy_supported = false;
        for (unsigned i = 0; i < SEND_SLOTS; i++)
            ch->slots[i].zero_copy = false;
    } else if (cqe->res < 0) {
        channel_fail(ch, "sending to", -cqe->res);
    }
}

static void channel_handle_cqe(MigrationChannel *ch, const struct io_uring_cqe *cqe)
{
    uint64_t index = io_uring_cqe_get_data64(cqe);
    g_assert(index < SEND_SLOTS);
    SendSlot *slot = &ch->slots[index];

    if (cqe->flags & IORING_CQE_F_NOTIF) {
        slot->notifs_pending--;
        ch->notifs_in_flight--;
        if ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
            stat_add(&ch->stats.zero_copy_copied, 1);
        return;
    }
    channel_handle_send(ch, slot, cqe);
}

/* Submits what is queued, reaps what completed (with `wait`: at least one
 * completion, if any is due) and starts the next chain. */
static void channel_pump(MigrationChannel *ch, bool wait)
{
    channel_start_chain(ch);
    bool anything_due = ch->sends_in_flight + ch->notifs_in_flight > 0;
    int ret = io_uring_submit_and_wait(&ch->ring, wait && anything_due ? 1 : 0);
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
        channel_fail(ch, "io_uring for", -ret);
        ch->ring_broken = true;
        return;
    }

    struct io_uring_cqe *cqe;
    unsigned head, reaped = 0;
    io_uring_for_each_cqe(&ch->ring, head, cqe) {
        channel_handle_cqe(ch, cqe);
        reaped++;
    }
    io_uring_cq_advance(&ch->ring, reaped);
    channel_advance_unsent(ch);

    /* Let the kernel work on the next chain while the caller prepares
     * the next batch. */
    unsigned before = ch->sends_in_flight;
    channel_start_chain(ch);
    if (ch->sends_in_flight != before)
        io_uring_submit(&ch->ring);
}

static bool channel_busy(const MigrationChannel *ch)
{
    return ch->sends_in_flight || ch->notifs_in_flight;
}

/* The slot for the next record, once its previous record is done. */
static SendSlot *channel_claim_slot(MigrationChannel *ch, GError **errp)
{
    SendSlot *slot = slot_of(ch, ch->next_seq);

    /* Its previous record must be sent and its notifications reaped. */
    while (ch->next_seq - ch->unsent_seq >= SEND_SLOTS || !slot_idle(slot)) {
        if (ch->error || ch->ring_broken) {
            channel_report(ch, errp);
            return NULL;
        }
        channel_pump(ch, true);
    }
    if (ch->error) {
        channel_report(ch, errp);
        return NULL;
    }
    slot->iovcnt = slot->iov_next = 0;
    slot->unsent = 0;
    slot->zero_copy = false;
    return slot;
}

static void slot_add(SendSlot *slot, void *base, size_t len)
{
    if (!len)
        return;
    slot->iov[slot->iovcnt++] = (struct iovec){ .iov_base = base, .iov_len = len };
    slot->unsent += len;
}

static void channel_commit_slot(MigrationChannel *ch)
{
    ch->next_seq++;
    channel_pump(ch, false);
}

/* The writer puts its reusable buffers in iov[0] and guest memory in
 * iov[1..] only for PAGES records (stream.h). */
static bool is_page_record(const struct iovec *iov, int iovcnt)
{
    const size_t meta = MIGRATION_RECORD_HEADER_SIZE + MIGRATION_BATCH_HEAD_SIZE;

    if (iovcnt < 1 || iovcnt > (int)SLOT_MAX_IOV || iov[0].iov_len < meta ||
        iov[0].iov_len > SLOT_INLINE_BYTES)
        return false;
    const uint8_t *p = iov[0].iov_base;
    return (p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24) == MIGRATION_RECORD_PAGES;
}

bool migration_channel_write(void *opaque, const struct iovec *iov, int iovcnt, GError **errp)
{
    MigrationChannel *ch = opaque;
    size_t total = 0;

    if (ch->error)
        return channel_report(ch, errp);
    if (!channel_ring_setup(ch, errp))
        return false;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total == 0)
        return true;
    stat_add(&ch->stats.bytes_queued, total);

    if (is_page_record(iov, iovcnt)) {
        SendSlot *slot = channel_claim_slot(ch, errp);
        if (!slot)
            return false;
        memcpy(slot->inline_data, iov[0].iov_base, iov[0].iov_len);
        slot_add(slot, slot->inline_data, iov[0].iov_len);
        for (int i = 1; i < iovcnt; i++)
            slot_add(slot, iov[i].iov_base, iov[i].iov_len);
        slot->zero_copy = ch->zero_copy;
        channel_commit_slot(ch);
    } else if (total <= SLOT_INLINE_BYTES) {
        /* Small records: copied, so the writer may reuse its buffers. */
        SendSlot *slot = channel_claim_slot(ch, errp);
        if (!slot)
            return false;
        size_t pos = 0;
        for (int i = 0; i < iovcnt; i++) {
            memcpy(slot->inline_data + pos, iov[i].iov_base, iov[i].iov_len);
            pos += iov[i].iov_len;
        }
        slot_add(slot, slot->inline_data, total);
        channel_commit_slot(ch);
    } else {
        /* A big record from temporary buffers (a DTB, device state): sent
         * in place, so write returns only once it is out. */
        for (int i = 0; i < iovcnt;) {
            SendSlot *slot = channel_claim_slot(ch, errp);
            if (!slot) {
                /* Earlier parts may point at those buffers still. */
                migration_channel_flush(ch, NULL);
                return false;
            }
            for (; i < iovcnt && slot->iovcnt < SLOT_MAX_IOV; i++)
                slot_add(slot, iov[i].iov_base, iov[i].iov_len);
            channel_commit_slot(ch);
        }
        return migration_channel_flush(ch, errp);
    }
    if (ch->error)
        return channel_report(ch, errp);
    return true;
}

bool migration_channel_flush(MigrationChannel *ch, GError **errp)
{
    if (!ch->ring_ready)
        return ch->error ? channel_report(ch, errp) : true;
    /* After a failure, still wait for what is in flight: the caller may
     * free or change the memory it pointed at once flush returns. */
    for (;;) {
        channel_start_chain(ch);
        if (!channel_busy(ch) || ch->ring_broken)
            break;
        channel_pump(ch, true);
    }
    if (ch->error)
        return channel_report(ch, errp);
    return true;
}

bool migration_channel_zero_copy_supported(MigrationChannel *ch)
{
    return channel_ring_setup(ch, NULL) && ch->zero_copy_supported;
}

bool migration_channel_set_zero_copy(MigrationChannel *ch, bool enable)
{
    ch->zero_copy = enable && migration_channel_zero_copy_supported(ch);
    return ch->zero_copy;
}

void migration_channel_test_single_sends(MigrationChannel *ch)
{
    ch->single_sends = true;
}

void migration_channel_shutdown(MigrationChannel *ch)
{
    if (ch->is_socket)
        shutdown(ch->fd, SHUT_RDWR);
}

void migration_channel_get_stats(MigrationChannel *ch, MigrationChannelStats *stats)
{
    G_STATIC_ASSERT(sizeof(MigrationChannelStats) % sizeof(uint64_t) == 0);
    const uint64_t *from = (const uint64_t *)&ch->stats;
    uint64_t *to = (uint64_t *)stats;

    for (size_t i = 0; i < sizeof(*stats) / sizeof(uint64_t); i++)
        to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

const char *migration_channel_name(const MigrationChannel *ch)
{
    return ch->name;
}

/* Waits, bounded, for the last completions of a channel that is being
 * dropped: its socket is shut down first, so sends fail at once. */
static void channel_drain_for_free(MigrationChannel *ch)
{
    gint64 deadline = g_get_monotonic_time() + FREE_DRAIN_TIMEOUT_MS * 1000;

    if (!channel_busy(ch))
        return;
    if (!ch->error)
        CHANNEL_ERROR(&ch->error, "%s was closed with sends pending", ch->name);
    migration_channel_shutdown(ch);
    while (channel_busy(ch) && !ch->ring_broken && g_get_monotonic_time() < deadline) {
        struct __kernel_timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
        struct io_uring_cqe *cqe;
        io_uring_submit(&ch->ring);
        io_uring_wait_cqe_timeout(&ch->ring, &cqe, &ts);
        channel_pump(ch, false);
    }
}

void migration_channel_free(MigrationChannel *ch)
{
    if (!ch)
        return;
    if (ch->ring_ready) {
        channel_drain_for_free(ch);
        /* The kernel pins what it still sends (zero-copy pins the pages
         * themselves), so freeing the slots now is safe even then. */
        io_uring_queue_exit(&ch->ring);
        g_free(ch->slots);
    }
    if (ch->fd >= 0)
        close(ch->fd);
    g_clear_error(&ch->error);
    g_free(ch->read_ahead);
    g_free(ch->name);
    g_free(ch);
}

/* ---- Receiving ---- */

/* One read of up to `len` bytes: > 0 bytes, 0 at the end, -errno. */
static ssize_t channel_read_some(MigrationChannel *ch, void *buf, size_t len, bool wait_all)
{
    for (;;) {
        ssize_t n = ch->is_socket ? recv(ch->fd, buf, len, wait_all ? MSG_WAITALL : 0)
                                  : read(ch->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* An inherited non-blocking fd: wait for it. */
            struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
            poll(&pfd, 1, -1);
            continue;
        }
        return -errno;
    }
}

bool migration_channel_read(void *opaque, void *buf, size_t len, GError **errp)
{
    MigrationChannel *ch = opaque;
    uint8_t *out = buf;

    if (ch->error)
        return channel_report(ch, errp);
    if (!ch->read_ahead)
        ch->read_ahead = g_malloc(READ_AHEAD_BYTES);
    while (len) {
        if (ch->read_pos < ch->read_len) {
            size_t n = MIN(len, ch->read_len - ch->read_pos);
            memcpy(out, ch->read_ahead + ch->read_pos, n);
            ch->read_pos += n;
            out += n;
            len -= n;
            stat_add(&ch->stats.bytes_received, n);
            continue;
        }
        if (ch->eof)
            return false;
        /* Page data goes straight to its destination; headers and
         * entries come from the read-ahead, one syscall for many. */
        bool direct = len >= READ_AHEAD_BYTES / 2;
        ssize_t n = direct ? channel_read_some(ch, out, len, true)
                           : channel_read_some(ch, ch->read_ahead, READ_AHEAD_BYTES, false);
        if (n < 0) {
            channel_fail(ch, "receiving from", (int)-n);
            return channel_report(ch, errp);
        }
        if (n == 0) {
            ch->eof = true;
            return false;
        }
        if (direct) {
            out += n;
            len -= (size_t)n;
            stat_add(&ch->stats.bytes_received, (uint64_t)n);
        } else {
            ch->read_pos = 0;
            ch->read_len = (size_t)n;
        }
    }
    return true;
}

/* ---- Connecting (source) ---- */

static int connect_tcp(const MigrationUri *uri, const char *name, GError **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *list;
    char port[8];
    int err = 0;

    g_snprintf(port, sizeof(port), "%u", uri->port);
    int ret = getaddrinfo(uri->host, port, &hints, &list);
    if (ret != 0) {
        CHANNEL_ERROR(errp, "cannot resolve the host of %s: %s", name, gai_strerror(ret));
        return -1;
    }
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        tune_socket_buffers(fd, ai->ai_family);
        tune_tcp_liveness(fd);
        if (connect_retrying(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(list);
            return fd;
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(list);
    CHANNEL_ERROR(errp, "cannot connect to %s: %s", name, g_strerror(err));
    return -1;
}

static bool unix_address(const char *path, struct sockaddr_un *addr)
{
    *addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr->sun_path))
        return false;
    strcpy(addr->sun_path, path);
    return true;
}

static int connect_unix(const MigrationUri *uri, const char *name, GError **errp)
{
    struct sockaddr_un addr;

    if (!unix_address(uri->path, &addr)) {
        CHANNEL_ERROR(errp, "%s: the path is too long for a UNIX socket", name);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        CHANNEL_ERROR(errp, "cannot create a socket for %s: %s", name, g_strerror(errno));
        return -1;
    }
    tune_socket_buffers(fd, AF_UNIX);
    if (connect_retrying(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;
        close(fd);
        CHANNEL_ERROR(errp, "cannot connect to %s: %s", name, g_strerror(err));
        return -1;
    }
    return fd;
}

MigrationChannel *migration_channel_connect(const MigrationUri *uri, GError **errp)
{
    g_autofree char *name = migration_uri_to_string(uri);
    int fd = -1;

    switch (uri->kind) {
    case MIGRATION_URI_TCP:
        fd = connect_tcp(uri, name, errp);
        break;
    case MIGRATION_URI_UNIX:
        fd = connect_unix(uri, name, errp);
        break;
    case MIGRATION_URI_FD:
        return migration_channel_new_fd(uri->fd, name, errp);
    case MIGRATION_URI_DEFER:
        CHANNEL_ERROR(errp, "'defer' names no destination to connect to");
        return NULL;
    }
    if (fd < 0)
        return NULL;
    MigrationChannel *ch = migration_channel_new_fd(fd, name, errp);
    if (!ch)
        close(fd);
    return ch;
}

/* ---- Listening (destination) ---- */

struct MigrationListener {
    int fd;
    char *name;
    char *unix_path; /* the socket file we created */
    uint16_t port;
    bool connected; /* fd: a connected stream: it is the channel */
    bool cancelled;
};

static void listener_tcp(MigrationListener *l, const MigrationUri *uri, GError **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *list;
    char port[8];
    int err = 0;

    g_snprintf(port, sizeof(port), "%u", uri->port);
    int ret = getaddrinfo(uri->host, port, &hints, &list);
    if (ret != 0) {
        CHANNEL_ERROR(errp, "cannot resolve the host of %s: %s", l->name, gai_strerror(ret));
        return;
    }
    for (struct addrinfo *ai = list; ai && l->fd < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int on = 1;
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        /* Before listen(): accepted sockets inherit the buffer sizes, and
         * the receive window's scale is settled in the handshake. */
        tune_socket_buffers(fd, ai->ai_family);
        tune_tcp_liveness(fd);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
            err = errno;
            close(fd);
            continue;
        }
        l->fd = fd;
    }
    freeaddrinfo(list);
    if (l->fd < 0) {
        CHANNEL_ERROR(errp, "cannot listen on %s: %s", l->name, g_strerror(err));
        return;
    }
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    if (getsockname(l->fd, (struct sockaddr *)&addr, &len) == 0)
        l->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                   : ((struct sockaddr_in *)&addr)->sin_port);
}

static void listener_unix(MigrationListener *l, const MigrationUri *uri, GError **errp)
{
    struct sockaddr_un addr;
    struct stat st;

    if (!unix_address(uri->path, &addr)) {
        CHANNEL_ERROR(errp, "%s: the path is too long for a UNIX socket", l->name);
        return;
    }
    /* A socket file left by an earlier run would make bind() fail. */
    if (lstat(uri->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            CHANNEL_ERROR(errp, "cannot listen on %s: the file exists and is not a socket",
                          l->name);
            return;
        }
        unlink(uri->path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        CHANNEL_ERROR(errp, "cannot create a socket for %s: %s", l->name, g_strerror(errno));
        return;
    }
    tune_socket_buffers(fd, AF_UNIX);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;
        close(fd);
        CHANNEL_ERROR(errp, "cannot listen on %s: %s", l->name, g_strerror(err));
        return;
    }
    l->unix_path = g_strdup(uri->path);
    if (listen(fd, 1) < 0) {
        int err = errno;
        close(fd);
        CHANNEL_ERROR(errp, "cannot listen on %s: %s", l->name, g_strerror(err));
        return;
    }
    l->fd = fd;
}

static void listener_fd(MigrationListener *l, const MigrationUri *uri, GError **errp)
{
    int listening = 0;
    socklen_t len = sizeof(listening);

    if (!check_stream_fd(uri->fd, l->name, errp))
        return;
    l->fd = uri->fd;
    l->connected = getsockopt(l->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
                   !listening;
}

MigrationListener *migration_listener_new(const MigrationUri *uri, GError **errp)
{
    g_autoptr(MigrationListener) l = g_new0(MigrationListener, 1);
    GError *err = NULL;

    l->fd = -1;
    l->name = migration_uri_to_string(uri);
    switch (uri->kind) {
    case MIGRATION_URI_TCP:
        listener_tcp(l, uri, &err);
        break;
    case MIGRATION_URI_UNIX:
        listener_unix(l, uri, &err);
        break;
    case MIGRATION_URI_FD:
        listener_fd(l, uri, &err);
        break;
    case MIGRATION_URI_DEFER:
        CHANNEL_ERROR(&err, "'defer' has nothing to listen on; set the URI with "
                            "migrate-incoming first");
        break;
    }
    if (err) {
        g_propagate_error(errp, err);
        return NULL;
    }
    return g_steal_pointer(&l);
}

MigrationChannel *migration_listener_accept(MigrationListener *l, GError **errp)
{
    if (l->connected) {
        if (l->fd < 0) {
            CHANNEL_ERROR(errp, "%s was already handed over", l->name);
            return NULL;
        }
        int fd = l->fd;
        l->fd = -1;
        return migration_channel_new_fd(fd, l->name, errp);
    }
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof(addr);
        int fd = __atomic_load_n(&l->cancelled, __ATOMIC_ACQUIRE)
                     ? -1
                     : accept4(l->fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC);
        if (fd >= 0) {
            g_autofree char *peer = addr.ss_family == AF_UNIX
                                        ? g_strdup(l->name)
                                        : describe_address((struct sockaddr *)&addr, len);
            if (addr.ss_family != AF_UNIX)
                tune_tcp_liveness(fd);
            MigrationChannel *ch = migration_channel_new_fd(fd, peer, errp);
            if (!ch)
                close(fd);
            return ch;
        }
        if (__atomic_load_n(&l->cancelled, __ATOMIC_ACQUIRE)) {
            CHANNEL_ERROR(errp, "waiting for the source on %s was cancelled", l->name);
            return NULL;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        CHANNEL_ERROR(errp, "accepting a connection on %s failed: %s", l->name,
                      g_strerror(errno));
        return NULL;
    }
}

void migration_listener_cancel(MigrationListener *l)
{
    __atomic_store_n(&l->cancelled, true, __ATOMIC_RELEASE);
    /* Wakes a thread blocked in accept(), which then fails with EINVAL. */
    if (l->fd >= 0 && !l->connected)
        shutdown(l->fd, SHUT_RDWR);
}

uint16_t migration_listener_port(const MigrationListener *l)
{
    return l->port;
}

int migration_listener_fd(const MigrationListener *l)
{
    return l->fd;
}

void migration_listener_free(MigrationListener *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->unix_path)
        unlink(l->unix_path);
    g_free(l->unix_path);
    g_free(l->name);
    g_free(l);
}
