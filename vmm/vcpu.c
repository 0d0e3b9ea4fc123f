#include "vmm/vcpu.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vcpu_cpuid.h"
#include "vmm/runstate.h"

/* The signal that knocks a vCPU thread out of KVM_RUN. */
#define SIG_VCPU_KICK SIGUSR1

/* What the controlling thread wants of the vCPUs. */
typedef enum VcpusRequest {
    VCPUS_RUN,
    VCPUS_PAUSE,
    VCPUS_STOP,
} VcpusRequest;

struct Vcpus {
    VcpusConfig config;
    Vcpu *vcpus;
    GMutex lock; /* guards request and every vcpu->state */
    GCond changed; /* broadcast on every request and state change */
    VcpusRequest request;
    unsigned pause_depth; /* pauses nest: a reset may pause around a memslot update */
};

/* The vCPU this thread runs, if any: a vCPU that pauses the others (a
 * device callback changing the memory map) must not wait for itself. */
static __thread Vcpu *current_vcpu;

static const char *vcpu_state_name(VcpuState state)
{
    static const char *const names[] = {
        [VCPU_CREATED] = "created",
        [VCPU_RUNNING] = "running",
        [VCPU_PAUSED] = "paused",
        [VCPU_STOPPED] = "stopped",
    };
    return names[state];
}

/* The only place a state changes; called with set->lock held. */
static void vcpu_transition(Vcpu *vcpu, VcpuState to)
{
    VcpuState from = vcpu->state;
    bool legal = (from == VCPU_CREATED && to != VCPU_CREATED) ||
                 (from == VCPU_RUNNING && (to == VCPU_PAUSED || to == VCPU_STOPPED)) ||
                 (from == VCPU_PAUSED && (to == VCPU_RUNNING || to == VCPU_STOPPED)) ||
                 from == to;

    if (!legal)
        g_error("vCPU %u: illegal transition %s -> %s", vcpu->index, vcpu_state_name(from),
                vcpu_state_name(to));
    vcpu->state = to;
    g_cond_broadcast(&vcpu->set->changed);
}

static void vcpu_kick_handler(int sig)
{
    /* Nothing to do: the signal only has to interrupt KVM_RUN. */
}

static void vcpus_install_kick_handler(void)
{
    struct sigaction sa = { .sa_handler = vcpu_kick_handler };

    sigemptyset(&sa.sa_mask);
    sigaction(SIG_VCPU_KICK, &sa, NULL);
}

/* Blocks while paused; false once the vCPU must stop. */
static bool vcpu_wait_runnable(Vcpu *vcpu)
{
    Vcpus *set = vcpu->set;
    bool run;

    g_mutex_lock(&set->lock);
    while (set->request == VCPUS_PAUSE) {
        vcpu_transition(vcpu, VCPU_PAUSED);
        g_cond_wait(&set->changed, &set->lock);
    }
    run = set->request == VCPUS_RUN;
    vcpu_transition(vcpu, run ? VCPU_RUNNING : VCPU_STOPPED);
    g_mutex_unlock(&set->lock);
    return run;
}

static void vcpu_crash(Vcpu *vcpu, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void vcpu_crash(Vcpu *vcpu, const char *fmt, ...)
{
    va_list ap;

    flockfile(stderr);
    fprintf(stderr, "ferry: guest crashed on vCPU %u: ", vcpu->index);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    vcpu_dump_state(vcpu, stderr);
    funlockfile(stderr);
    runstate_request_exit(FERRY_EXIT_CRASH);
}

static void vcpu_trace_unassigned(Vcpu *vcpu, const char *space, bool write, uint64_t addr,
                                  const uint8_t *data, unsigned size)
{
    uint64_t value = 0;

    if (!vcpu->set->config.trace_unassigned)
        return;
    memcpy(&value, data, size < sizeof(value) ? size : sizeof(value));
    if (write)
        fprintf(stderr, "ferry: unassigned %s write 0x%" G_GINT64_MODIFIER "x size %u value 0x%"
                G_GINT64_MODIFIER "x\n", space, addr, size, value);
    else
        fprintf(stderr, "ferry: unassigned %s read 0x%" G_GINT64_MODIFIER "x size %u\n", space,
                addr, size);
}

static void vcpu_handle_pio(Vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    AddressSpace *io = vcpu->set->config.io;
    bool write = run->io.direction == KVM_EXIT_IO_OUT;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;

    /* count > 1 for rep ins/outs: the same port, consecutive buffer slots. */
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        MemTxResult r = write ? address_space_write(io, run->io.port, data, run->io.size)
                              : address_space_read(io, run->io.port, data, run->io.size);
        if (r == MEMTX_UNASSIGNED)
            vcpu_trace_unassigned(vcpu, "port", write, run->io.port, data, run->io.size);
    }
}

static void vcpu_handle_mmio(Vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    AddressSpace *memory = vcpu->set->config.memory;
    unsigned len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : sizeof(run->mmio.data);
    MemTxResult r = run->mmio.is_write
                        ? address_space_write(memory, run->mmio.phys_addr, run->mmio.data, len)
                        : address_space_read(memory, run->mmio.phys_addr, run->mmio.data, len);

    if (r == MEMTX_UNASSIGNED)
        vcpu_trace_unassigned(vcpu, "mmio", run->mmio.is_write, run->mmio.phys_addr,
                              run->mmio.data, len);
}

static const char *internal_error_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
        return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
        return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
        return "exit while delivering an event";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
        return "unexpected hardware exit reason";
    default:
        return "unknown suberror";
    }
}

static void vcpu_report_internal_error(Vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    g_autoptr(GString) detail = g_string_new(NULL);

    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
        run->emulation_failure.ndata >= 3 &&
        (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        unsigned n = MIN(run->emulation_failure.insn_size, sizeof(run->emulation_failure.insn_bytes));

        g_string_append(detail, ", instruction bytes:");
        for (unsigned i = 0; i < n; i++)
            g_string_append_printf(detail, " %02x", run->emulation_failure.insn_bytes[i]);
    } else {
        for (uint32_t i = 0; i < MIN(run->internal.ndata, G_N_ELEMENTS(run->internal.data)); i++)
            g_string_append_printf(detail, "%s0x%llx", i ? " " : ", data: ",
                                   (unsigned long long)run->internal.data[i]);
    }
    vcpu_crash(vcpu, "KVM internal error, suberror %u (%s)%s", run->internal.suberror,
               internal_error_name(run->internal.suberror), detail->str);
}

/* The ring is full: harvest it (and re-arm its pages) before going back
 * into KVM_RUN, which would otherwise exit again at once.  A full ring with
 * nothing ready where ferry reads next can happen once (a sync reaped it
 * first); again and again means KVM's ring and ferry's index disagree (the
 * kernel overflowed the ring: a WARN in kvm_dirty_ring_push), entries are
 * lost and the vCPU would spin: stop the guest instead. */
#define DIRTY_RING_STUCK_EXITS 16

static bool vcpu_handle_dirty_ring_full(Vcpu *vcpu)
{
    __atomic_fetch_add(&vcpu->dirty_ring_full_exits, 1, __ATOMIC_RELAXED);
    if (kvm_memslots_reap_dirty_ring(vcpu->set->config.memslots, vcpu->dirty_ring)) {
        vcpu->dirty_ring_empty_exits = 0;
        return true;
    }
    if (++vcpu->dirty_ring_empty_exits < DIRTY_RING_STUCK_EXITS)
        return true;
    vcpu_crash(vcpu, "KVM says the dirty ring is full, but no entry is ready after %u tries: "
               "the kernel overflowed the ring (see dmesg) and dirty pages were lost",
               vcpu->dirty_ring_empty_exits);
    return false;
}

/* Handles one exit; false when this vCPU must not run again. */
static bool vcpu_handle_exit(Vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        vcpu_handle_pio(vcpu);
        return true;
    case KVM_EXIT_MMIO:
        vcpu_handle_mmio(vcpu);
        return true;
    case KVM_EXIT_HLT:
        return true; /* the in-kernel LAPIC handles HLT; nothing to wait for here */
    case KVM_EXIT_DIRTY_RING_FULL:
        return vcpu_handle_dirty_ring_full(vcpu);
    case KVM_EXIT_SHUTDOWN:
        vcpu_crash(vcpu, "triple fault (KVM_EXIT_SHUTDOWN)");
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            runstate_request_exit(FERRY_EXIT_POWEROFF);
            return false;
        case KVM_SYSTEM_EVENT_RESET:
            runstate_request_reset();
            return true; /* the reset pauses us before the guest runs on */
        default:
            vcpu_crash(vcpu, "system event %u", run->system_event.type);
            return false;
        }
    case KVM_EXIT_INTERNAL_ERROR:
        vcpu_report_internal_error(vcpu);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        vcpu_crash(vcpu, "VM entry failed, hardware reason 0x%llx",
                   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        return false;
    default:
        vcpu_crash(vcpu, "unexpected KVM exit reason %u", run->exit_reason);
        return false;
    }
}

static void *vcpu_thread(void *data)
{
    Vcpu *vcpu = data;
    char name[16];

    /* Named from inside: naming another thread goes through
     * /proc/self/task/TID/comm, which took 8 ms on the CI host. */
    snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
    pthread_setname_np(pthread_self(), name);
    current_vcpu = vcpu;
    while (vcpu_wait_runnable(vcpu)) {
        if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                vcpu->run->immediate_exit = 0;
                continue;
            }
            vcpu_crash(vcpu, "KVM_RUN failed: %s", g_strerror(errno));
            break;
        }
        if (!vcpu_handle_exit(vcpu))
            break;
    }
    g_mutex_lock(&vcpu->set->lock);
    vcpu_transition(vcpu, VCPU_STOPPED);
    g_mutex_unlock(&vcpu->set->lock);
    return NULL;
}

static bool vcpu_ioctl(Vcpu *vcpu, unsigned long req, void *arg, const char *what, GError **errp)
{
    if (ioctl(vcpu->fd, req, arg) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "vCPU %u: %s failed: %s",
                    vcpu->index, what, g_strerror(errno));
        return false;
    }
    return true;
}

/* Local APIC LVT entries, as a PC BIOS leaves them: LINT0 takes the 8259's
 * ExtINT (virtual wire mode), LINT1 the NMI. */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_EXTINT (7u << 8)
#define APIC_MODE_NMI (4u << 8)

static void lapic_set_reg(struct kvm_lapic_state *lapic, unsigned reg, uint32_t value)
{
    memcpy(&lapic->regs[reg], &value, sizeof(value));
}

/* The ring sits in the vCPU's mmap space at KVM_DIRTY_LOG_PAGE_OFFSET pages. */
static bool vcpu_map_dirty_ring(Vcpu *vcpu, GError **errp)
{
    Vcpus *set = vcpu->set;
    uint32_t bytes = set->config.kvm->dirty_ring_bytes;

    if (!bytes)
        return true;
    void *ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
                      (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
    if (ring == MAP_FAILED) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "vCPU %u: mmap of the dirty ring (%u bytes) failed: %s", vcpu->index, bytes,
                    g_strerror(errno));
        return false;
    }
    vcpu->dirty_gfns = ring;
    vcpu->dirty_ring = kvm_memslots_add_dirty_ring(set->config.memslots, vcpu->dirty_gfns,
                                                   bytes / sizeof(struct kvm_dirty_gfn));
    return true;
}

static bool vcpu_init(Vcpu *vcpu, const struct kvm_cpuid2 *supported, GError **errp)
{
    Vcpus *set = vcpu->set;
    g_autofree struct kvm_cpuid2 *cpuid =
        cpuid_for_vcpu(supported, vcpu->index, set->config.count);

    vcpu->fd = ioctl(set->config.kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->index);
    if (vcpu->fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "vCPU %u: KVM_CREATE_VCPU failed: %s", vcpu->index, g_strerror(errno));
        return false;
    }
    vcpu->run = mmap(NULL, set->config.kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                     vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        vcpu->run = NULL;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "vCPU %u: mmap of kvm_run failed: %s", vcpu->index, g_strerror(errno));
        return false;
    }
    if (!vcpu_map_dirty_ring(vcpu, errp))
        return false;
    if (!vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2", errp) ||
        !vcpu_ioctl(vcpu, KVM_GET_LAPIC, &vcpu->reset_lapic, "KVM_GET_LAPIC", errp))
        return false;
    lapic_set_reg(&vcpu->reset_lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
    lapic_set_reg(&vcpu->reset_lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
    return vcpu_ioctl(vcpu, KVM_SET_LAPIC, &vcpu->reset_lapic, "KVM_SET_LAPIC", errp) &&
           vcpu_ioctl(vcpu, KVM_GET_REGS, &vcpu->reset_regs, "KVM_GET_REGS", errp) &&
           vcpu_ioctl(vcpu, KVM_GET_SREGS, &vcpu->reset_sregs, "KVM_GET_SREGS", errp) &&
           vcpu_ioctl(vcpu, KVM_GET_FPU, &vcpu->reset_fpu, "KVM_GET_FPU", errp);
}

Vcpus *vcpus_new(const VcpusConfig *config, GError **errp)
{
    Vcpus *set = g_new0(Vcpus, 1);
    g_autofree struct kvm_cpuid2 *supported = NULL;

    set->config = *config;
    set->vcpus = g_new0(Vcpu, config->count);
    g_mutex_init(&set->lock);
    g_cond_init(&set->changed);
    for (unsigned i = 0; i < config->count; i++) {
        set->vcpus[i].set = set;
        set->vcpus[i].index = i;
        set->vcpus[i].fd = -1;
    }
    if (config->kvm->dirty_ring_bytes && !config->memslots) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "vCPUs: the VM has a dirty ring but no memslot listener was given to reap it");
        goto fail;
    }
    if (!kvm_check_cap(config->kvm, KVM_CAP_IMMEDIATE_EXIT)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "KVM: KVM_CAP_IMMEDIATE_EXIT is missing (Linux 4.11 or newer needed)");
        goto fail;
    }
    supported = cpuid_supported(config->kvm, errp);
    if (!supported)
        goto fail;
    for (unsigned i = 0; i < config->count; i++)
        if (!vcpu_init(&set->vcpus[i], supported, errp))
            goto fail;
    vcpus_install_kick_handler();
    return set;

fail:
    vcpus_free(set);
    return NULL;
}

unsigned vcpus_count(const Vcpus *set)
{
    return set->config.count;
}

AddressSpace *vcpu_memory(Vcpu *vcpu)
{
    return vcpu->set->config.memory;
}

Vcpu *vcpus_get(Vcpus *set, unsigned index)
{
    return index < set->config.count ? &set->vcpus[index] : NULL;
}

void vcpus_start(Vcpus *set)
{
    for (unsigned i = 0; i < set->config.count; i++) {
        Vcpu *vcpu = &set->vcpus[i];
        int err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

        if (err)
            g_error("vCPU %u: cannot create its thread: %s", i, g_strerror(err));
        vcpu->started = true;
    }
}

static void vcpus_kick_all(Vcpus *set)
{
    for (unsigned i = 0; i < set->config.count; i++) {
        Vcpu *vcpu = &set->vcpus[i];

        if (!vcpu->started || vcpu->state == VCPU_STOPPED)
            continue;
        __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        pthread_kill(vcpu->thread, SIG_VCPU_KICK);
    }
}

static bool vcpus_all_settled(Vcpus *set, VcpuState settled)
{
    for (unsigned i = 0; i < set->config.count; i++) {
        VcpuState s = set->vcpus[i].state;

        if (set->vcpus[i].started && &set->vcpus[i] != current_vcpu && s != settled &&
            s != VCPU_STOPPED)
            return false;
    }
    return true;
}

void vcpus_pause(Vcpus *set)
{
    g_mutex_lock(&set->lock);
    if (set->pause_depth++ == 0) {
        set->request = VCPUS_PAUSE;
        vcpus_kick_all(set);
    }
    while (!vcpus_all_settled(set, VCPU_PAUSED))
        g_cond_wait(&set->changed, &set->lock);
    g_mutex_unlock(&set->lock);
}

void vcpus_resume(Vcpus *set)
{
    g_mutex_lock(&set->lock);
    g_assert(set->pause_depth > 0);
    if (--set->pause_depth == 0 && set->request == VCPUS_PAUSE) {
        set->request = VCPUS_RUN;
        g_cond_broadcast(&set->changed);
    }
    g_mutex_unlock(&set->lock);
}

void vcpus_stop(Vcpus *set)
{
    g_mutex_lock(&set->lock);
    set->request = VCPUS_STOP;
    vcpus_kick_all(set);
    g_cond_broadcast(&set->changed);
    g_mutex_unlock(&set->lock);
    for (unsigned i = 0; i < set->config.count; i++) {
        if (set->vcpus[i].started) {
            pthread_join(set->vcpus[i].thread, NULL);
            set->vcpus[i].started = false;
        }
    }
}

bool vcpus_reset(Vcpus *set, const BootEntry *entry, GError **errp)
{
    for (unsigned i = 0; i < set->config.count; i++) {
        Vcpu *vcpu = &set->vcpus[i];
        struct kvm_vcpu_events events = { 0 };
        struct kvm_mp_state mp = {
            .mp_state = i == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
        };

        if (!vcpu_ioctl(vcpu, KVM_SET_REGS, &vcpu->reset_regs, "KVM_SET_REGS", errp) ||
            !vcpu_ioctl(vcpu, KVM_SET_SREGS, &vcpu->reset_sregs, "KVM_SET_SREGS", errp) ||
            !vcpu_ioctl(vcpu, KVM_SET_FPU, &vcpu->reset_fpu, "KVM_SET_FPU", errp) ||
            !vcpu_ioctl(vcpu, KVM_SET_LAPIC, &vcpu->reset_lapic, "KVM_SET_LAPIC", errp) ||
            !vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS", errp) ||
            !vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", errp))
            return false;
    }
    return !entry || vcpu_set_boot_state(&set->vcpus[0], entry, errp);
}

void vcpus_free(Vcpus *set)
{
    if (!set)
        return;
    vcpus_stop(set);
    for (unsigned i = 0; i < set->config.count; i++) {
        Vcpu *vcpu = &set->vcpus[i];

        if (vcpu->dirty_gfns) {
            kvm_memslots_remove_dirty_ring(set->config.memslots, vcpu->dirty_ring);
            munmap(vcpu->dirty_gfns, set->config.kvm->dirty_ring_bytes);
        }
        if (vcpu->run)
            munmap(vcpu->run, set->config.kvm->vcpu_mmap_size);
        if (vcpu->fd >= 0)
            close(vcpu->fd);
    }
    g_mutex_clear(&set->lock);
    g_cond_clear(&set->changed);
    g_free(set->vcpus);
    g_free(set);
}
