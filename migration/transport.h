/* The migration channel: the byte pipe a migration stream travels over.
 *
 * URIs (the `migrate` command and `--incoming`):
 *
 *   tcp:HOST:PORT     HOST a name, an IPv4 address or [IPv6]; PORT 1..65535
 *   unix:PATH         a UNIX stream socket
 *   fd:N              an open stream socket or pipe this process inherited
 *   defer             (--incoming only) the URI comes later, from the control socket
 *
 * The source connects (migration_channel_connect()); the destination listens
 * and accepts one connection (migration_listener_new(), _accept()).  Both
 * calls block: they are meant for the migration thread, or for a helper
 * thread that hands the channel over.  migration_listener_cancel() and
 * migration_channel_shutdown() may be called from any other thread to
 * unblock them.
 *
 * Sending (source).  migration_channel_write() is a MigrationWriteFn: it
 * queues the record and returns while the kernel still sends it.  Page
 * data goes to the socket straight from guest memory: a PAGES record's
 * iov[0] (its metadata, which the writer reuses) and the iovec array are
 * copied into one of 64 send slots, the page iovecs keep pointing into
 * guest memory, and io_uring sends the slot with IORING_OP_SENDMSG.  Up to
 * 64 records are in flight; they are linked (IOSQE_IO_LINK) so that the
 * kernel sends them in order, with MSG_WAITALL so that a short send breaks
 * the chain and is resubmitted from where it stopped.  Other records
 * (header, machine, block list, device state, end) carry payloads in the
 * writer's temporary buffers: small ones are copied into the slot, big
 * ones are sent in place and waited for before write returns.
 *
 * Zero-copy (migration_channel_set_zero_copy()): PAGES records go out with
 * IORING_OP_SENDMSG_ZC, so the kernel reads guest pages while the NIC
 * transmits them, after the send "completed".  That is correct for
 * precopy even while vCPUs run: a page the guest writes after it was
 * queued is dirty again and is resent, and the last copy wins (such
 * batches are not CHECKSUMMED, FORMAT.md).  What must not happen is guest
 * memory being freed, or the final round being declared done, while the
 * kernel still holds pages: migration_channel_flush() waits for every send
 * completion and every zero-copy notification (IORING_CQE_F_NOTIF).  Call
 * it after the final round and before freeing or unplugging memory.
 *
 * Errors (a closed or reset connection, a dead peer: TCP keepalive and
 * TCP_USER_TIMEOUT turn silence into ETIMEDOUT) are reported by the write
 * or flush that follows them, as one line "migration channel: ..." in
 * MIGRATION_STREAM_ERROR_IO; from then on every call fails at once with
 * the same message.
 *
 * Receiving (destination).  migration_channel_read() is a
 * MigrationReadFn: blocking reads, small ones served from a 64 KiB
 * read-ahead buffer, large ones (page data) straight into the caller's
 * buffer.
 *
 * A channel is used by one thread at a time, except for
 * migration_channel_shutdown() and migration_channel_get_stats(), which
 * any thread may call.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* ---- URIs ---- */

typedef enum MigrationUriKind {
    MIGRATION_URI_TCP,
    MIGRATION_URI_UNIX,
    MIGRATION_URI_FD,
    MIGRATION_URI_DEFER,
} MigrationUriKind;

typedef enum MigrationUriRole {
    MIGRATION_URI_SOURCE, /* `migrate URI` */
    MIGRATION_URI_INCOMING, /* `--incoming URI`: also accepts `defer` */
} MigrationUriRole;

typedef struct MigrationUri {
    MigrationUriKind kind;
    char *host; /* TCP: without brackets ("::1") */
    uint16_t port; /* TCP; 0 (not from the parser) lets the kernel pick one */
    char *path; /* UNIX */
    int fd; /* FD */
} MigrationUri;

/* Parses and checks `text`.  Errors are one line in G_OPTION_ERROR
 * (G_OPTION_ERROR_BAD_VALUE) naming the URI and what to write instead.
 * For fd:N, N must be an open stream socket or pipe now. */
MigrationUri *migration_uri_parse(const char *text, MigrationUriRole role, GError **errp);
void migration_uri_free(MigrationUri *uri);
/* "tcp:[::1]:4444", as a user would write it. */
char *migration_uri_to_string(const MigrationUri *uri);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationUri, migration_uri_free)

/* ---- Channels ---- */

typedef struct MigrationChannel MigrationChannel;

typedef struct MigrationChannelStats {
    uint64_t bytes_queued; /* handed to migration_channel_write() */
    uint64_t bytes_sent; /* the kernel took them (send completions) */
    uint64_t bytes_received; /* returned by migration_channel_read() */
    uint64_t sends; /* send requests submitted, resubmissions included */
    uint64_t short_sends; /* sends that completed partly and were resubmitted */
    uint64_t zero_copy_sends; /* sends submitted as SENDMSG_ZC */
    uint64_t zero_copy_copied; /* ... whose notification says the kernel copied anyway */
} MigrationChannelStats;

/* Source: connect to a tcp: or unix: URI, or take over fd:N (the channel
 * owns it from then on). */
MigrationChannel *migration_channel_connect(const MigrationUri *uri, GError **errp);
/* Wraps a connected stream socket or pipe end; takes ownership of `fd`.
 * `name` names the peer in errors ("fd:5"). */
MigrationChannel *migration_channel_new_fd(int fd, const char *name, GError **errp);
/* Waits for queued sends and notifications (after shutting the socket
 * down if sends are still pending, so that it cannot hang), then closes. */
void migration_channel_free(MigrationChannel *ch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationChannel, migration_channel_free)

/* MigrationWriteFn; `opaque` is the channel. */
bool migration_channel_write(void *opaque, const struct iovec *iov, int iovcnt, GError **errp);
/* Returns once every queued byte has been sent and every zero-copy
 * notification reaped, or the channel failed. */
bool migration_channel_flush(MigrationChannel *ch, GError **errp);
/* MigrationReadFn; `opaque` is the channel.  False without an error at
 * the end of the stream. */
bool migration_channel_read(void *opaque, void *buf, size_t len, GError **errp);

/* Whether this kernel and this channel can send zero-copy: io_uring has
 * IORING_OP_SENDMSG_ZC and the channel is a TCP socket (UNIX sockets and
 * pipes cannot). */
bool migration_channel_zero_copy_supported(MigrationChannel *ch);
/* Page records queued from now on go zero-copy (if supported: returns
 * whether zero-copy is now on).  Off by default: it pays off on a real
 * NIC with large sends; on loopback the kernel copies anyway. */
bool migration_channel_set_zero_copy(MigrationChannel *ch, bool enable);

/* Any thread: makes blocked and later sends and reads fail (migrate_cancel). */
void migration_channel_shutdown(MigrationChannel *ch);
/* Any thread: a snapshot of the counters (bandwidth, progress). */
void migration_channel_get_stats(MigrationChannel *ch, MigrationChannelStats *stats);
/* The peer as a URI, for messages. */
const char *migration_channel_name(const MigrationChannel *ch);

/* For tests: unlinked sends without MSG_WAITALL, so that a small socket
 * buffer produces short sends and the resubmission path runs. */
void migration_channel_test_single_sends(MigrationChannel *ch);

/* ---- Destination: one incoming connection ---- */

typedef struct MigrationListener MigrationListener;

/* Binds and listens on a tcp: or unix: URI (a stale UNIX socket file is
 * replaced), or keeps fd:N (a connected socket or pipe is the channel; a
 * listening socket is accepted from).  `defer` is the caller's to handle. */
MigrationListener *migration_listener_new(const MigrationUri *uri, GError **errp);
/* Blocks until one peer connects. */
MigrationChannel *migration_listener_accept(MigrationListener *listener, GError **errp);
/* Any thread: makes a blocked or later accept fail. */
void migration_listener_cancel(MigrationListener *listener);
/* The bound TCP port (when the URI said port 0). */
uint16_t migration_listener_port(const MigrationListener *listener);
/* For a main loop that polls before accepting; -1 once handed over. */
int migration_listener_fd(const MigrationListener *listener);
/* Closes the socket and removes a UNIX socket file it created. */
void migration_listener_free(MigrationListener *listener);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationListener, migration_listener_free)
