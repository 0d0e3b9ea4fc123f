/* The migration channel: URIs, a few hundred MiB over a socketpair,
 * loopback TCP and a UNIX socket (checksummed end to end), short sends,
 * a peer that goes away, fd: with an inherited socket and a pipe, and
 * zero-copy where the kernel has it.  Throughput is printed (TAP "#"
 * lines), never asserted: the lead's benchmark reads it.
 *
 * The sender imitates the stream writer (stream.h): PAGES records whose
 * iov[0] is a metadata buffer reused after every write and whose other
 * iovecs point into a buffer standing in for guest memory, and now and
 * then another record whose payload is a temporary buffer freed right
 * after the write.  The receiver reads in the stream reader's pattern of
 * small headers and page-sized or larger bodies.
 *
 * FERRY_TRANSPORT_TEST_MIB sets the size of the big transfers (default 256). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "migration/crc32c.h"
#include "migration/stream.h"
#include "migration/transport.h"

#define KiB (1024ull)
#define MiB (1024ull * KiB)
#define PAGE 4096u
#define GUEST_BYTES (64 * MiB)

/* ---- The stand-in for guest memory ---- */

static uint8_t *guest;

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64: fast, and the same sequence for sender and receiver. */
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void guest_init(void)
{
    uint64_t state = 0x9e3779b97f4a7c15ull;

    guest = g_malloc(GUEST_BYTES);
    for (uint64_t i = 0; i < GUEST_BYTES / 8; i++)
        ((uint64_t *)guest)[i] = next_random(&state);
}

static uint64_t big_transfer_bytes(void)
{
    const char *env = g_getenv("FERRY_TRANSPORT_TEST_MIB");
    return (env ? g_ascii_strtoull(env, NULL, 10) : 256) * MiB;
}

/* ---- Sender: records in the writer's shape ---- */

typedef struct SendResult {
    uint64_t bytes;
    uint32_t crc;
    gint64 start_us;
} SendResult;

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* One PAGES-shaped record: metadata in `meta` (reused), up to 128 pages of
 * `guest` in runs, as the writer merges neighbouring pages. */
static int build_page_record(uint8_t *meta, struct iovec *iov, uint64_t *rng)
{
    unsigned pages = 1 + (unsigned)(next_random(rng) % MIGRATION_BATCH_MAX_PAGES);
    size_t meta_len = MIGRATION_RECORD_HEADER_SIZE + MIGRATION_BATCH_HEAD_SIZE +
                      (size_t)pages * MIGRATION_PAGE_ENTRY_SIZE;
    int iovcnt = 1;

    for (unsigned done = 0; done < pages;) {
        unsigned run = 1 + (unsigned)(next_random(rng) % 16);
        run = MIN(run, pages - done);
        uint64_t page = next_random(rng) % (GUEST_BYTES / PAGE - run);
        iov[iovcnt++] = (struct iovec){ .iov_base = guest + page * PAGE, .iov_len = run * PAGE };
        done += run;
    }
    put_le32(meta, MIGRATION_RECORD_PAGES);
    put_le32(meta + 4, (uint32_t)(meta_len - MIGRATION_RECORD_HEADER_SIZE + pages * PAGE));
    for (size_t i = 8; i < meta_len; i++)
        meta[i] = (uint8_t)next_random(rng);
    iov[0] = (struct iovec){ .iov_base = meta, .iov_len = meta_len };
    return iovcnt;
}

static uint32_t crc_iov(uint32_t crc, const struct iovec *iov, int iovcnt, uint64_t *bytes)
{
    for (int i = 0; i < iovcnt; i++) {
        crc = crc32c_update(crc, iov[i].iov_base, iov[i].iov_len);
        *bytes += iov[i].iov_len;
    }
    return crc;
}

typedef bool (*SendFn)(void *opaque, const struct iovec *iov, int iovcnt, GError **errp);

/* Writes records until `total` bytes went out or a write failed. */
static bool send_records(SendFn send, void *opaque, uint64_t total, SendResult *result,
                         GError **errp)
{
    uint8_t meta[MIGRATION_RECORD_HEADER_SIZE + MIGRATION_BATCH_HEAD_SIZE +
                 MIGRATION_BATCH_MAX_PAGES * MIGRATION_PAGE_ENTRY_SIZE];
    struct iovec iov[1 + MIGRATION_BATCH_MAX_PAGES];
    uint64_t rng = 42;

    result->start_us = g_get_monotonic_time();
    for (unsigned n = 0; result->bytes < total; n++) {
        if (n % 64 == 63) {
            /* Device-state-like: a temporary payload, small or large. */
            size_t len = 1 + next_random(&rng) % (n % 128 == 127 ? 300 * KiB : 3 * KiB);
            uint8_t head[MIGRATION_RECORD_HEADER_SIZE];
            uint8_t *payload = g_malloc(len);
            for (size_t i = 0; i < len; i++)
                payload[i] = (uint8_t)(i * 31 + n);
            put_le32(head, MIGRATION_RECORD_DEVICE_STATE);
            put_le32(head + 4, (uint32_t)len);
            struct iovec rec[2] = { { head, sizeof(head) }, { payload, len } };
            result->crc = crc_iov(result->crc, rec, 2, &result->bytes);
            bool ok = send(opaque, rec, 2, errp);
            memset(payload, 0xaa, len); /* the writer's buffer is gone */
            memset(head, 0xaa, sizeof(head));
            g_free(payload);
            if (!ok)
                return false;
            continue;
        }
        int iovcnt = build_page_record(meta, iov, &rng);
        result->crc = crc_iov(result->crc, iov, iovcnt, &result->bytes);
        if (!send(opaque, iov, iovcnt, errp))
            return false;
        /* The writer reuses both right away. */
        memset(meta, 0x55, sizeof(meta));
        memset(iov, 0x55, sizeof(iov));
    }
    return true;
}

/* ---- Receiver: a thread reading records ---- */

typedef struct Receiver {
    MigrationChannel *ch; /* given, or accepted from `listener` */
    MigrationListener *listener;
    unsigned slow_every; /* sleep after every n-th read (0: never) */
    uint64_t stop_after; /* close the channel after this many bytes (0: never) */
    uint64_t bytes;
    uint32_t crc;
    uint64_t records;
    gint64 end_us;
    GError *error;
    bool bad_record;
} Receiver;

static bool receive_bytes(Receiver *r, void *buf, size_t len, bool *eof)
{
    static unsigned reads;
    if (!migration_channel_read(r->ch, buf, len, &r->error)) {
        *eof = !r->error;
        return false;
    }
    r->crc = crc32c_update(r->crc, buf, len);
    r->bytes += len;
    if (r->slow_every && ++reads % r->slow_every == 0)
        g_usleep(200);
    return true;
}

static gpointer receiver_thread(gpointer opaque)
{
    Receiver *r = opaque;
    g_autofree uint8_t *body = g_malloc(1 * MiB);
    uint64_t rng = 7;
    bool eof = false;

    if (!r->ch) {
        r->ch = migration_listener_accept(r->listener, &r->error);
        if (!r->ch)
            return NULL;
    }
    for (;;) {
        uint8_t head[MIGRATION_RECORD_HEADER_SIZE];
        if (!receive_bytes(r, head, sizeof(head), &eof))
            break;
        uint32_t type = head[0] | head[1] << 8 | head[2] << 16 | (uint32_t)head[3] << 24;
        uint32_t len = head[4] | head[5] << 8 | head[6] << 16 | (uint32_t)head[7] << 24;
        if (type != MIGRATION_RECORD_PAGES && type != MIGRATION_RECORD_DEVICE_STATE) {
            r->bad_record = true;
            break;
        }
        /* Small reads, page reads and large reads, as the reader does. */
        while (len) {
            uint64_t pick = next_random(&rng) % 8;
            size_t chunk = pick < 3 ? 1 + next_random(&rng) % 64
                         : pick < 7 ? PAGE
                                    : 1 + next_random(&rng) % (1 * MiB);
            chunk = MIN(chunk, len);
            if (!receive_bytes(r, body, chunk, &eof))
                goto out;
            len -= (uint32_t)chunk;
        }
        r->records++;
        if (r->stop_after && r->bytes >= r->stop_after)
            break;
    }
out:
    r->end_us = g_get_monotonic_time();

    if (r->stop_after) {
        migration_channel_free(r->ch);
        r->ch = NULL;
    }
    return NULL;
}

static void print_rate(const char *what, uint64_t bytes, gint64 us)
{
    g_test_message("throughput %s: %.0f MB/s (%" G_GUINT64_FORMAT " MiB in %.3f s)", what,
                   (double)bytes / (double)MAX(us, 1), (uint64_t)(bytes / MiB), (double)us / 1e6);
}

/* Sends `total` bytes over `src` to a receiver thread (on `dst`, or accepted
 * from `listener`), checks that every byte arrived in order, and frees
 * `src`. */
static void transfer_and_check(const char *what, MigrationChannel *src, MigrationChannel *dst,
                               MigrationListener *listener, uint64_t total, unsigned slow_every,
                               MigrationChannelStats *stats_out)
{
    Receiver r = { .ch = dst, .listener = listener, .slow_every = slow_every };
    GThread *thread = g_thread_new("receiver", receiver_thread, &r);
    SendResult sent = { 0 };
    GError *err = NULL;

    g_assert_true(send_records(migration_channel_write, src, total, &sent, &err));
    g_assert_no_error(err);
    g_assert_true(migration_channel_flush(src, &err));
    g_assert_no_error(err);

    MigrationChannelStats stats;
    migration_channel_get_stats(src, &stats);
    g_assert_cmpuint(stats.bytes_queued, ==, sent.bytes);
    g_assert_cmpuint(stats.bytes_sent, ==, sent.bytes);
    if (stats_out)
        *stats_out = stats;
    migration_channel_free(src); /* the receiver sees the end of the stream */
    g_thread_join(thread);

    g_assert_no_error(r.error);
    g_assert_false(r.bad_record);
    g_assert_cmpuint(r.bytes, ==, sent.bytes);
    g_assert_cmphex(r.crc, ==, sent.crc);
    MigrationChannelStats rstats;
    migration_channel_get_stats(r.ch, &rstats);
    g_assert_cmpuint(rstats.bytes_received, ==, sent.bytes);
    migration_channel_free(r.ch);
    print_rate(what, sent.bytes, r.end_us - sent.start_us);
    g_test_message("%s: %" G_GUINT64_FORMAT " sends, %" G_GUINT64_FORMAT " short, %"
                   G_GUINT64_FORMAT " zero-copy (%" G_GUINT64_FORMAT " copied by the kernel)",
                   what, stats.sends, stats.short_sends, stats.zero_copy_sends,
                   stats.zero_copy_copied);
}

/* ---- Channel set-ups ---- */

static void socketpair_channels(MigrationChannel **src, MigrationChannel **dst)
{
    int fds[2];
    GError *err = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    *src = migration_channel_new_fd(fds[0], "socketpair", &err);
    g_assert_no_error(err);
    *dst = migration_channel_new_fd(fds[1], "socketpair", &err);
    g_assert_no_error(err);
}

static MigrationListener *tcp_listener(const char *host)
{
    MigrationUri uri = { .kind = MIGRATION_URI_TCP, .host = (char *)host, .port = 0 };
    GError *err = NULL;
    MigrationListener *l = migration_listener_new(&uri, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(migration_listener_port(l), >, 0);
    return l;
}

static MigrationChannel *tcp_connect(const char *host, MigrationListener *l)
{
    MigrationUri uri = { .kind = MIGRATION_URI_TCP, .host = (char *)host,
                         .port = migration_listener_port(l) };
    GError *err = NULL;
    MigrationChannel *ch = migration_channel_connect(&uri, &err);
    g_assert_no_error(err);
    return ch;
}

/* ---- Tests: transfers ---- */

static void test_socketpair(void)
{
    MigrationChannel *src, *dst;

    socketpair_channels(&src, &dst);
    transfer_and_check("socketpair", src, dst, NULL, big_transfer_bytes(), 0, NULL);
}

static void test_tcp_loopback(void)
{
    g_autoptr(MigrationListener) l = tcp_listener("127.0.0.1");
    transfer_and_check("tcp 127.0.0.1", tcp_connect("127.0.0.1", l), NULL, l,
                       big_transfer_bytes(), 0, NULL);
}

static void test_tcp_ipv6(void)
{
    MigrationUri uri = { .kind = MIGRATION_URI_TCP, .host = "::1", .port = 0 };
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationListener) l = migration_listener_new(&uri, &err);

    if (!l) {
        g_test_skip("no IPv6 loopback here");
        return;
    }
    transfer_and_check("tcp [::1]", tcp_connect("::1", l), NULL, l, 32 * MiB, 0, NULL);
}

static void test_unix_socket(void)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-transport-XXXXXX", NULL);
    g_autofree char *text = g_strdup_printf("unix:%s/migrate.sock", dir);
    GError *err = NULL;
    g_autoptr(MigrationUri) uri = migration_uri_parse(text, MIGRATION_URI_INCOMING, &err);
    g_assert_no_error(err);

    MigrationListener *l = migration_listener_new(uri, &err);
    g_assert_no_error(err);
    MigrationChannel *src = migration_channel_connect(uri, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(migration_channel_name(src), ==, text);
    transfer_and_check("unix socket", src, NULL, l, big_transfer_bytes(), 0, NULL);
    migration_listener_free(l);
    /* The listener removes the socket file it made. */
    g_assert_false(g_file_test(uri->path, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_zero_copy(void)
{
    g_autoptr(MigrationListener) l = tcp_listener("127.0.0.1");
    MigrationChannel *src = tcp_connect("127.0.0.1", l);

    if (!migration_channel_set_zero_copy(src, true)) {
        migration_channel_free(src);
        g_test_skip("no IORING_OP_SENDMSG_ZC on this kernel");
        return;
    }
    MigrationChannelStats stats;
    transfer_and_check("tcp 127.0.0.1 zero-copy", src, NULL, l, big_transfer_bytes(), 0, &stats);
    g_assert_cmpuint(stats.zero_copy_sends, >, 0);
}

static void test_zero_copy_unavailable_on_unix(void)
{
    MigrationChannel *src, *dst;

    socketpair_channels(&src, &dst);
    g_assert_false(migration_channel_zero_copy_supported(src));
    g_assert_false(migration_channel_set_zero_copy(src, true));
    migration_channel_free(src);
    migration_channel_free(dst);
}

/* A 4 KiB socket buffer and a reader that naps: sends wait for room all
 * the time; with MSG_WAITALL the kernel finishes them, without it
 * (single sends) they come back short and are resubmitted. */
static void short_sends(bool single_sends)
{
    int fds[2], small = 4096;
    GError *err = NULL;
    MigrationChannelStats stats;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    g_assert_cmpint(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), ==, 0);
    g_assert_cmpint(setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), ==, 0);
    MigrationChannel *src = migration_channel_new_fd(fds[0], "small buffers", &err);
    g_assert_no_error(err);
    MigrationChannel *dst = migration_channel_new_fd(fds[1], "small buffers", &err);
    g_assert_no_error(err);
    if (single_sends)
        migration_channel_test_single_sends(src);
    transfer_and_check(single_sends ? "small buffers, single sends" : "small buffers", src, dst,
                       NULL, 16 * MiB, 16, &stats);
    if (single_sends)
        g_assert_cmpuint(stats.short_sends, >, 0);
}

static void test_short_sends_linked(void)
{
    short_sends(false);
}

static void test_short_sends_resubmitted(void)
{
    short_sends(true);
}

/* ---- Tests: failures ---- */

/* The receiver reads 1 MiB and closes: the sender's next write or flush
 * fails with one clear line, and so does every call after it. */
static void peer_closes(MigrationChannel *src, MigrationChannel *dst, MigrationListener *l)
{
    Receiver r = { .ch = dst, .listener = l, .stop_after = 1 * MiB };
    GThread *thread = g_thread_new("receiver", receiver_thread, &r);
    SendResult sent = { 0 };
    g_autoptr(GError) err = NULL;

    bool ok = send_records(migration_channel_write, src, 4096 * MiB, &sent, &err) &&
              migration_channel_flush(src, &err);
    g_thread_join(thread);
    g_assert_no_error(r.error);
    g_assert_false(ok);
    g_assert_error(err, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_IO);
    g_assert_true(g_str_has_prefix(err->message, "migration channel: sending to "));
    g_assert_nonnull(strstr(err->message, "the peer closed the connection"));
    g_assert_null(strchr(err->message, '\n'));
    g_test_message("peer closed after %" G_GUINT64_FORMAT " MiB: %s", (uint64_t)(sent.bytes / MiB),
                   err->message);

    /* Later calls fail at once with the same message. */
    g_autoptr(GError) again = NULL;
    struct iovec iov = { .iov_base = "x", .iov_len = 1 };
    g_assert_false(migration_channel_write(src, &iov, 1, &again));
    g_assert_cmpstr(again->message, ==, err->message);
    g_clear_error(&again);
    g_assert_false(migration_channel_flush(src, &again));
    g_assert_cmpstr(again->message, ==, err->message);
    migration_channel_free(src);
}

static void test_peer_closes_socketpair(void)
{
    MigrationChannel *src, *dst;

    socketpair_channels(&src, &dst);
    peer_closes(src, dst, NULL);
}

static void test_peer_closes_tcp(void)
{
    g_autoptr(MigrationListener) l = tcp_listener("127.0.0.1");
    peer_closes(tcp_connect("127.0.0.1", l), NULL, l);
}

/* The source stops inside a record: the destination's read ends without
 * an error (the stream reader names what was cut). */
static void test_source_closes_mid_record(void)
{
    MigrationChannel *src, *dst;
    GError *err = NULL;
    uint8_t buf[64];

    socketpair_channels(&src, &dst);
    struct iovec iov = { .iov_base = "0123456789", .iov_len = 10 };
    g_assert_true(migration_channel_write(src, &iov, 1, &err));
    g_assert_true(migration_channel_flush(src, &err));
    migration_channel_free(src);
    g_assert_true(migration_channel_read(dst, buf, 4, &err));
    g_assert_false(migration_channel_read(dst, buf, sizeof(buf), &err));
    g_assert_no_error(err);
    g_assert_false(migration_channel_read(dst, buf, 1, &err));
    g_assert_no_error(err);
    migration_channel_free(dst);
}

/* A sender blocked on a full socket is released by shutdown from another
 * thread (migrate_cancel), and free() of a channel with sends in flight
 * returns. */
static gpointer shutdown_later(gpointer ch)
{
    g_usleep(100 * 1000);
    migration_channel_shutdown(ch);
    return NULL;
}

static void test_shutdown_unblocks_sender(void)
{
    MigrationChannel *src, *dst;
    SendResult sent = { 0 };
    g_autoptr(GError) err = NULL;

    socketpair_channels(&src, &dst); /* nobody reads dst */
    GThread *thread = g_thread_new("cancel", shutdown_later, src);
    bool ok = send_records(migration_channel_write, src, 4096 * MiB, &sent, &err) &&
              migration_channel_flush(src, &err);
    g_thread_join(thread);
    g_assert_false(ok);
    g_assert_true(g_str_has_prefix(err->message, "migration channel: "));
    migration_channel_free(src);
    migration_channel_free(dst);
}

static void test_free_with_sends_pending(void)
{
    MigrationChannel *src, *dst;
    SendResult sent = { 0 };

    socketpair_channels(&src, &dst); /* nobody reads dst: sends stay pending */
    g_assert_true(send_records(migration_channel_write, src, 8 * MiB, &sent, NULL));
    gint64 start = g_get_monotonic_time();
    migration_channel_free(src);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
    migration_channel_free(dst);
}

static void test_connect_refused(void)
{
    g_autofree char *dir = g_dir_make_tmp("ferry-transport-XXXXXX", NULL);
    g_autofree char *text = g_strdup_printf("unix:%s/nobody.sock", dir);
    g_autoptr(GError) err = NULL;
    g_autoptr(MigrationUri) uri = migration_uri_parse(text, MIGRATION_URI_SOURCE, &err);
    g_assert_no_error(err);

    g_assert_null(migration_channel_connect(uri, &err));
    g_assert_error(err, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_IO);
    g_autofree char *want = g_strdup_printf("migration channel: cannot connect to %s: %s", text,
                                            g_strerror(ENOENT));
    g_assert_cmpstr(err->message, ==, want);

    /* Listening where a regular file is refuses to replace it. */
    g_autofree char *file = g_strdup_printf("%s/nobody.sock", dir);
    g_assert_true(g_file_set_contents(file, "x", 1, NULL));
    g_clear_error(&err);
    g_assert_null(migration_listener_new(uri, &err));
    g_assert_nonnull(strstr(err->message, "exists and is not a socket"));
    g_assert_cmpint(g_unlink(file), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static gpointer accept_thread(gpointer l)
{
    GError *err = NULL;
    MigrationChannel *ch = migration_listener_accept(l, &err);
    g_assert_null(ch);
    return err;
}

static void test_accept_cancelled(void)
{
    g_autoptr(MigrationListener) l = tcp_listener("127.0.0.1");
    GThread *thread = g_thread_new("accept", accept_thread, l);

    g_usleep(50 * 1000);
    migration_listener_cancel(l);
    g_autoptr(GError) err = g_thread_join(thread);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "migration channel: waiting for the source on "
                                                 "tcp:127.0.0.1:"));
    g_assert_true(g_str_has_suffix(err->message, " was cancelled"));
}

/* ---- Tests: fd: ---- */

static void test_fd_inherited_socketpair(void)
{
    int fds[2];
    GError *err = NULL;

    /* No CLOEXEC: what a parent hands a child process. */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    g_autofree char *out = g_strdup_printf("fd:%d", fds[0]);
    g_autofree char *in = g_strdup_printf("fd:%d", fds[1]);
    g_autoptr(MigrationUri) out_uri = migration_uri_parse(out, MIGRATION_URI_SOURCE, &err);
    g_assert_no_error(err);
    g_autoptr(MigrationUri) in_uri = migration_uri_parse(in, MIGRATION_URI_INCOMING, &err);
    g_assert_no_error(err);
    g_assert_cmpint(out_uri->kind, ==, MIGRATION_URI_FD);
    g_assert_cmpint(out_uri->fd, ==, fds[0]);

    g_autoptr(MigrationListener) l = migration_listener_new(in_uri, &err);
    g_assert_no_error(err);
    MigrationChannel *src = migration_channel_connect(out_uri, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(migration_channel_name(src), ==, out);
    transfer_and_check("fd: socketpair", src, NULL, l, 32 * MiB, 0, NULL);
    /* A connected fd is the channel itself: there is no second one. */
    g_assert_null(migration_listener_accept(l, &err));
    g_assert_nonnull(strstr(err->message, "already handed over"));
    g_clear_error(&err);
}

static void test_fd_pipe(void)
{
    int fds[2];
    GError *err = NULL;

    g_assert_cmpint(pipe(fds), ==, 0);
    g_autofree char *out = g_strdup_printf("fd:%d", fds[1]);
    g_autofree char *in = g_strdup_printf("fd:%d", fds[0]);
    g_autoptr(MigrationUri) out_uri = migration_uri_parse(out, MIGRATION_URI_SOURCE, &err);
    g_assert_no_error(err);
    g_autoptr(MigrationUri) in_uri = migration_uri_parse(in, MIGRATION_URI_INCOMING, &err);
    g_assert_no_error(err);
    MigrationChannel *src = migration_channel_connect(out_uri, &err);
    g_assert_no_error(err);
    MigrationChannel *dst = migration_channel_connect(in_uri, &err);
    g_assert_no_error(err);
    transfer_and_check("fd: pipe", src, dst, NULL, 64 * MiB, 0, NULL);

    /* A pipe whose reader is gone fails the writer (ferry ignores SIGPIPE). */
    g_assert_cmpint(pipe(fds), ==, 0);
    src = migration_channel_new_fd(fds[1], "fd:pipe", &err);
    g_assert_no_error(err);
    dst = migration_channel_new_fd(fds[0], "fd:pipe", &err);
    g_assert_no_error(err);
    peer_closes(src, dst, NULL);
}

/* ---- Tests: URIs ---- */

static void test_uri_parse(void)
{
    static const struct {
        const char *text;
        MigrationUriRole role;
        MigrationUriKind kind;
        const char *host;
        unsigned port;
        const char *canonical;
    } good[] = {
        { "tcp:127.0.0.1:4444", MIGRATION_URI_SOURCE, MIGRATION_URI_TCP, "127.0.0.1", 4444, NULL },
        { "tcp:0.0.0.0:4444", MIGRATION_URI_INCOMING, MIGRATION_URI_TCP, "0.0.0.0", 4444, NULL },
        { "tcp:[::1]:4444", MIGRATION_URI_SOURCE, MIGRATION_URI_TCP, "::1", 4444, NULL },
        { "tcp:[::]:1", MIGRATION_URI_INCOMING, MIGRATION_URI_TCP, "::", 1, NULL },
        { "tcp:dest.example:65535", MIGRATION_URI_SOURCE, MIGRATION_URI_TCP, "dest.example",
          65535, NULL },
        { "unix:/run/ferry/mig.sock", MIGRATION_URI_SOURCE, MIGRATION_URI_UNIX, NULL, 0, NULL },
        { "unix:relative.sock", MIGRATION_URI_INCOMING, MIGRATION_URI_UNIX, NULL, 0, NULL },
        { "defer", MIGRATION_URI_INCOMING, MIGRATION_URI_DEFER, NULL, 0, NULL },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
        GError *err = NULL;
        g_autoptr(MigrationUri) uri = migration_uri_parse(good[i].text, good[i].role, &err);
        g_assert_no_error(err);
        g_assert_cmpint(uri->kind, ==, good[i].kind);
        g_assert_cmpstr(uri->host, ==, good[i].host);
        g_assert_cmpuint(uri->port, ==, good[i].port);
        g_autofree char *back = migration_uri_to_string(uri);
        g_assert_cmpstr(back, ==, good[i].text);
    }
}

static void test_uri_errors(void)
{
    int dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int file = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    g_autofree char *dgram_uri = g_strdup_printf("fd:%d", dgram);
    g_autofree char *file_uri = g_strdup_printf("fd:%d", file);
    g_autofree char *a120 = g_strnfill(120, 'a');
    g_autofree char *long_path = g_strdup_printf("unix:/%s", a120);
    const struct {
        const char *text;
        MigrationUriRole role;
        const char *message;
    } bad[] = {
        { "", MIGRATION_URI_SOURCE,
          "migration URI is empty: use tcp:HOST:PORT, unix:PATH or fd:N" },
        { "", MIGRATION_URI_INCOMING,
          "migration URI is empty: use tcp:HOST:PORT, unix:PATH or fd:N or defer" },
        { "udp:1.2.3.4:5", MIGRATION_URI_SOURCE,
          "migration URI 'udp:1.2.3.4:5': unknown transport; use tcp:HOST:PORT, unix:PATH or "
          "fd:N" },
        { "defer", MIGRATION_URI_SOURCE,
          "migration URI 'defer': 'defer' is only for --incoming; use tcp:HOST:PORT, "
          "unix:PATH or fd:N" },
        { "tcp:127.0.0.1", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:127.0.0.1': expected tcp:HOST:PORT" },
        { "tcp:localhost", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:localhost': expected tcp:HOST:PORT" },
        { "tcp::4444", MIGRATION_URI_INCOMING,
          "migration URI 'tcp::4444': the host is missing: tcp:HOST:PORT (0.0.0.0 or [::] "
          "listens on every address)" },
        { "tcp:host:0", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:host:0': port '0' is not a number from 1 to 65535" },
        { "tcp:host:65536", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:host:65536': port '65536' is not a number from 1 to 65535" },
        { "tcp:host:44a", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:host:44a': port '44a' is not a number from 1 to 65535" },
        { "tcp:host:", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:host:': port '' is not a number from 1 to 65535" },
        { "tcp:host:-1", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:host:-1': port '-1' is not a number from 1 to 65535" },
        { "tcp:::1:4444", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:::1:4444': an IPv6 address goes in brackets: tcp:[::1]:PORT" },
        { "tcp:[::1]4444", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:[::1]4444': an IPv6 address is written tcp:[ADDRESS]:PORT" },
        { "tcp:[nope]:4444", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:[nope]:4444': 'nope' is not an IPv6 address" },
        { "tcp:[]:4444", MIGRATION_URI_SOURCE,
          "migration URI 'tcp:[]:4444': '' is not an IPv6 address" },
        { "unix:", MIGRATION_URI_SOURCE,
          "migration URI 'unix:': the socket path is missing: unix:PATH" },
        { long_path, MIGRATION_URI_SOURCE, "holds at most 107" },
        { "fd:", MIGRATION_URI_SOURCE,
          "migration URI 'fd:': expected fd:N, N an open file descriptor number" },
        { "fd:-1", MIGRATION_URI_SOURCE,
          "migration URI 'fd:-1': expected fd:N, N an open file descriptor number" },
        { "fd:abc", MIGRATION_URI_SOURCE,
          "migration URI 'fd:abc': expected fd:N, N an open file descriptor number" },
        { "fd:999999", MIGRATION_URI_INCOMING,
          "migration URI 'fd:999999': no such open file descriptor" },
        { file_uri, MIGRATION_URI_INCOMING, "neither a socket nor a pipe" },
        { dgram_uri, MIGRATION_URI_INCOMING, "not a stream socket" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_assert_null(migration_uri_parse(bad[i].text, bad[i].role, &err));
        g_assert_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
        g_assert_null(strchr(err->message, '\n'));
        if (g_str_has_prefix(bad[i].message, "migration URI"))
            g_assert_cmpstr(err->message, ==, bad[i].message);
        else
            g_assert_nonnull(strstr(err->message, bad[i].message));
    }
    close(dgram);
    close(file);
}

/* ---- Baseline: a plain blocking sendmsg() loop ---- */

static bool plain_sendmsg(void *opaque, const struct iovec *iov, int iovcnt, GError **errp)
{
    int fd = GPOINTER_TO_INT(opaque);
    struct iovec local[1 + MIGRATION_BATCH_MAX_PAGES];
    struct msghdr msg = { .msg_iov = local, .msg_iovlen = (size_t)iovcnt };

    memcpy(local, iov, sizeof(*iov) * (size_t)iovcnt);
    while (msg.msg_iovlen) {
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            g_set_error(errp, MIGRATION_STREAM_ERROR, MIGRATION_STREAM_ERROR_IO, "sendmsg: %s",
                        g_strerror(errno));
            return false;
        }
        while (n > 0 && msg.msg_iovlen) {
            size_t step = MIN((size_t)n, msg.msg_iov->iov_len);
            msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + step;
            msg.msg_iov->iov_len -= step;
            n -= (ssize_t)step;
            if (!msg.msg_iov->iov_len) {
                msg.msg_iov++;
                msg.msg_iovlen--;
            }
        }
    }
    return true;
}

/* A raw socket with the buffer size the channel asks for. */
static int raw_connect(int family, const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int size = 4 * 1024 * 1024;

    g_assert_cmpint(fd, >=, 0);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
    g_assert_cmpint(connect(fd, addr, len), ==, 0);
    return fd;
}

/* MB/s of one transfer of the usual records to a receiver thread that
 * accepts from `l`, through the channel or through sendmsg() on a raw
 * socket with the same buffer size. */
static double measure(MigrationListener *l, const struct sockaddr *addr, socklen_t addr_len,
                      bool channel)
{
    Receiver r = { .listener = l };
    GThread *thread = g_thread_new("receiver", receiver_thread, &r);
    int fd = raw_connect(addr->sa_family, addr, addr_len);
    SendResult sent = { 0 };
    GError *err = NULL;

    if (channel) {
        MigrationChannel *ch = migration_channel_new_fd(fd, "bench", &err);
        g_assert_no_error(err);
        g_assert_true(send_records(migration_channel_write, ch, big_transfer_bytes(), &sent, &err));
        g_assert_true(migration_channel_flush(ch, &err));
        migration_channel_free(ch);
    } else {
        g_assert_true(send_records(plain_sendmsg, GINT_TO_POINTER(fd), big_transfer_bytes(),
                                   &sent, &err));
        close(fd);
    }
    g_assert_no_error(err);
    g_thread_join(thread);
    g_assert_no_error(r.error);
    g_assert_cmphex(r.crc, ==, sent.crc);
    migration_channel_free(r.ch);
    return (double)sent.bytes / (double)MAX(r.end_us - sent.start_us, 1);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of 5 alternating runs each way: the io_uring channel against a
 * plain blocking sendmsg() loop, same records, same socket options. */
static void compare(const char *what, MigrationListener *l, const struct sockaddr *addr,
                    socklen_t addr_len)
{
    enum { RUNS = 5 };
    double rate[2][RUNS];

    for (unsigned i = 0; i < RUNS; i++) {
        rate[0][i] = measure(l, addr, addr_len, true);
        rate[1][i] = measure(l, addr, addr_len, false);
    }
    qsort(rate[0], RUNS, sizeof(double), compare_doubles);
    qsort(rate[1], RUNS, sizeof(double), compare_doubles);
    g_test_message("throughput %s, %" G_GUINT64_FORMAT " MiB, median of %d: io_uring channel "
                   "%.0f MB/s, plain sendmsg() loop %.0f MB/s (ratio %.2f)",
                   what, (uint64_t)(big_transfer_bytes() / MiB), RUNS, rate[0][RUNS / 2],
                   rate[1][RUNS / 2], rate[0][RUNS / 2] / rate[1][RUNS / 2]);
}

static void test_throughput(void)
{
    g_autoptr(MigrationListener) tl = tcp_listener("127.0.0.1");
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(migration_listener_port(tl)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    compare("tcp 127.0.0.1", tl, (struct sockaddr *)&in, sizeof(in));

    g_autofree char *dir = g_dir_make_tmp("ferry-transport-XXXXXX", NULL);
    g_autofree char *text = g_strdup_printf("unix:%s/bench.sock", dir);
    GError *err = NULL;
    g_autoptr(MigrationUri) uri = migration_uri_parse(text, MIGRATION_URI_INCOMING, &err);
    g_assert_no_error(err);
    MigrationListener *ul = migration_listener_new(uri, &err);
    g_assert_no_error(err);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    g_strlcpy(un.sun_path, uri->path, sizeof(un.sun_path));
    compare("unix socket", ul, (struct sockaddr *)&un, sizeof(un));
    migration_listener_free(ul);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN); /* as ferry's main does */
    guest_init();

    g_test_add_func("/migration/transport/uri-parse", test_uri_parse);
    g_test_add_func("/migration/transport/uri-errors", test_uri_errors);
    g_test_add_func("/migration/transport/socketpair", test_socketpair);
    g_test_add_func("/migration/transport/tcp-loopback", test_tcp_loopback);
    g_test_add_func("/migration/transport/tcp-ipv6", test_tcp_ipv6);
    g_test_add_func("/migration/transport/unix-socket", test_unix_socket);
    g_test_add_func("/migration/transport/zero-copy", test_zero_copy);
    g_test_add_func("/migration/transport/zero-copy-unavailable-on-unix",
                    test_zero_copy_unavailable_on_unix);
    g_test_add_func("/migration/transport/short-sends-linked", test_short_sends_linked);
    g_test_add_func("/migration/transport/short-sends-resubmitted", test_short_sends_resubmitted);
    g_test_add_func("/migration/transport/peer-closes-socketpair", test_peer_closes_socketpair);
    g_test_add_func("/migration/transport/peer-closes-tcp", test_peer_closes_tcp);
    g_test_add_func("/migration/transport/source-closes-mid-record",
                    test_source_closes_mid_record);
    g_test_add_func("/migration/transport/shutdown-unblocks-sender",
                    test_shutdown_unblocks_sender);
    g_test_add_func("/migration/transport/free-with-sends-pending", test_free_with_sends_pending);
    g_test_add_func("/migration/transport/connect-refused", test_connect_refused);
    g_test_add_func("/migration/transport/accept-cancelled", test_accept_cancelled);
    g_test_add_func("/migration/transport/fd-inherited-socketpair", test_fd_inherited_socketpair);
    g_test_add_func("/migration/transport/fd-pipe", test_fd_pipe);
    g_test_add_func("/migration/transport/throughput", test_throughput);

    int ret = g_test_run();
    g_free(guest);
    return ret;
}
