#!/usr/bin/env python3
"""Live migration end to end: two ferry processes, the test guest's
`migrate` test dirtying memory the whole time.

    migrate.py MODE FERRY GUEST

Modes:
  unix              over a UNIX socket; the destination starts --paused so
                    that the paused source's x-ram-digest can be compared
                    with the destination's before it runs; then the guest
                    finishes its passes on the destination and PASSes
  ring              the same with --dirty-tracking ring
  cpus2             the same with --cpus 2 (both CPUs dirty)
  dimm              the same with a hot-plugged DIMM in use (half the region);
                    the destination re-creates backend and DIMM from the stream
  tcp-netns         over TCP between two network namespaces joined by a veth
                    pair (the two "hosts")
  tcp-netns-ring, tcp-netns-cpus2, tcp-netns-dimm
                    ring, cpus2 and dimm between the two namespaces
  zero-copy         zero-copy-send=on over loopback TCP: page records go out
                    with io_uring SENDMSG_ZC (query-migrate counts them); over a
                    UNIX socket migrate refuses, naming why
  auto-converge     at max-bandwidth 128 MiB/s the guest outruns the link:
                    without auto-converge the migration is still active after
                    three rounds (then cancelled); with it the vCPUs are throttled
                    (cpu-throttle-percentage) until it completes, and the
                    guest PASSes on the destination
  refused           nobody listens: migrate fails, the source guest PASSes
  cancel            migrate_cancel mid-round (bandwidth-limited): cancelled,
                    the guest PASSes after a second, successful migration
  dst-killed        the destination dies mid-transfer: failed, source PASSes
  rom-resize        a ROM blob resized on the source mid-migration
                    (x-ram-block-resize): failed with that reason, source PASSes
  smaller-ram       the destination has less RAM: it refuses with the seed's
                    text and exits non-zero; the source PASSes
  missing-block     the source has a RAM block (qboot's pc.bios) the
                    destination lacks: "Unknown ramblock", likewise
  corrupt-page      a proxy flips a byte of a page record: the destination
                    refuses, the source fails over and PASSes
  corrupt-section   the same in a device-state section
  truncated         the proxy cuts the stream: the destination refuses
  no-go-ahead       the proxy swallows the source's go-ahead after the ack: the
                    source is postmigrate, the destination exits without
                    running the guest, cont takes it back on the source
  machine-fdt       --info machine-fdt FILE writes the stream's device tree
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from checker import Checker
from qmp import HANG_LIMIT_S, Qmp

MEMORY = "512M"
QBOOT = "/usr/share/qemu/qboot.rom"
MIB = "64"


class Vm:
    def __init__(self, ferry, args, tmp, name, netns=None):
        self.ferry, self.name = ferry, name
        self.qmp_path = os.path.join(tmp, name + ".qmp")
        cmd = [ferry, "run", "--test-exit", "--api-socket", self.qmp_path] + args
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines, self.cond = [], threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        self.q = None

    def _pump(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self.cond.notify_all()

    def wait_line(self, pattern, count=1):
        deadline = time.monotonic() + HANG_LIMIT_S * 3
        with self.cond:
            while time.monotonic() < deadline:
                if sum(1 for l in self.lines if re.search(pattern, l)) >= count:
                    return True
                if self.proc.poll() is not None:
                    break
                self.cond.wait(1)
        return sum(1 for l in self.lines if re.search(pattern, l)) >= count

    def qmp(self):
        if self.q is None:
            deadline = time.monotonic() + HANG_LIMIT_S
            while True:
                try:
                    self.q = Qmp(self.qmp_path)
                    break
                except OSError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
                    time.sleep(0.05)
            self.q.read()
            self.q.cmd("qmp_capabilities")
        return self.q

    def cmd(self, name, args=None):
        return self.qmp().cmd(name, args)

    def serial(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_migration(self):
        """Polls query-migrate until it ends; its final status object."""
        deadline = time.monotonic() + HANG_LIMIT_S * 3
        while time.monotonic() < deadline:
            r = self.cmd("query-migrate").get("return", {})
            if r.get("status") in ("completed", "failed", "cancelled"):
                return r
            time.sleep(0.1)
        return {"status": "timeout"}

    def finish(self):
        try:
            return self.proc.wait(timeout=HANG_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()



def guest_args(extra_cmdline=""):
    return ["--kernel", GUEST, "--memory", MEMORY,
            "--cmdline", f"test=migrate mib={MIB} passes=3 {extra_cmdline}".strip()]


def expect_pass(t, vm, where):
    vm.serial(b"M")
    t.check(f"the guest PASSes on the {where}", vm.wait_line(r"^PASS: migrate"),
            "\n".join(vm.lines[-15:]))
    t.check(f"no FAIL on the {where}", not any(l.startswith("FAIL") for l in vm.lines),
            "\n".join(l for l in vm.lines if "FAIL" in l or "migrate: cpu" in l))


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zero_copy_refused_on_unix(t, tmp, src):
    """zero-copy-send over a UNIX socket: migrate names the problem."""
    path = os.path.join(tmp, "zc.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    r = src.cmd("migrate", {"uri": f"unix:{path}"})
    t.check("zero-copy-send over a UNIX socket is refused with the reason",
            r and "error" in r and "zero-copy-send needs a TCP connection" in r["error"]["desc"],
            repr(r))
    listener.close()


def good_migration(t, tmp, src_extra=(), dst_extra=(), cmdline="", netns=None, dimm=False,
                   zero_copy=False):
    uri_listen = f"unix:{os.path.join(tmp, 'mig.sock')}"
    uri_connect = uri_listen
    if netns:
        uri_listen, uri_connect = "tcp:0.0.0.0:4444", f"tcp:{netns['dst_addr']}:4444"
    if zero_copy:
        uri_listen = uri_connect = f"tcp:127.0.0.1:{free_tcp_port()}"
    dst = Vm(FERRY, ["--memory", MEMORY, "--incoming", uri_listen, "--paused"] + list(dst_extra),
             tmp, "dst", netns and netns["dst"])
    src = Vm(FERRY, guest_args(cmdline) + list(src_extra), tmp, "src", netns and netns["src"])
    if dimm:
        t.check("guest waits for a DIMM", src.wait_line(r"waiting for 1 DIMM"))
        src.cmd("object-add", {"qom-type": "memory-backend-memfd", "id": "mem1",
                               "size": 128 << 20})
        src.cmd("device_add", {"driver": "pc-dimm", "id": "dimm1", "memdev": "mem1"})
    t.check("source guest dirties memory", src.wait_line(r"^migrate: region .*pass [1-9]"))
    dst.qmp()
    src.qmp()
    if zero_copy:
        src.cmd("migrate-set-parameters", {"zero-copy-send": True})
        zero_copy_refused_on_unix(t, tmp, src)
    # The operator's way: ferry ctl ... migrate URI --progress.
    ctl = subprocess.run([FERRY, "ctl", src.qmp_path, "migrate", uri_connect, "--progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=HANG_LIMIT_S * 3)
    frames = ctl.stdout.decode(errors="replace").split("\r")[1:]
    t.check("ferry ctl migrate --progress exits 0", ctl.returncode == 0, ctl.stdout)
    t.check("and redraws one progress line until it says completed, 100%",
            len(frames) >= 2 and "\n" not in "".join(frames[:-1]) and
            re.match(r"completed +100\.0%  +[0-9.]+ MiB/s  dirty +[0-9]+ pages/s  remaining +0\.0 MiB"
                     r"  ETA +0\.0 s \n$", frames[-1]) is not None, frames)
    end = src.wait_migration()
    t.check("migration completed", end.get("status") == "completed", json.dumps(end))
    ram = end.get("ram", {})
    t.check("query-migrate has times, byte counts, syncs, dirty rate and throughput",
            all(k in end for k in ("setup-time", "total-time", "downtime")) and
            all(k in ram for k in ("transferred", "remaining", "total", "dirty-sync-count",
                                   "dirty-pages-rate", "mbps")) and
            ram["transferred"] > 0 and ram["total"] >= 512 << 20 and ram["remaining"] == 0 and
            ram["dirty-sync-count"] >= 1 and ram["mbps"] > 0, json.dumps(end))
    print(f"stats: total {end.get('total-time')} ms, downtime {end.get('downtime')} ms, "
          f"{ram.get('transferred', 0) >> 20} MiB, {ram.get('dirty-sync-count')} syncs", flush=True)
    if zero_copy:
        print(f"zero-copy: {ram.get('zero-copy-sends')} sends, {ram.get('zero-copy-copied')} copied", flush=True)
        t.check("page records went out zero-copy", ram.get("zero-copy-sends", 0) > 0,
                json.dumps(ram))
    t.check("source is postmigrate",
            src.cmd("query-status").get("return", {}).get("status") == "postmigrate")
    deadline = time.monotonic() + HANG_LIMIT_S
    while dst.cmd("query-status").get("return", {}).get("status") == "inmigrate" and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    src_digest = src.cmd("x-ram-digest").get("return")
    dst_digest = dst.cmd("x-ram-digest").get("return")
    t.check("every RAM block's digest matches before the destination runs",
            src_digest and src_digest == dst_digest,
            f"\nsrc {src_digest}\ndst {dst_digest}")
    if dimm:
        devs = dst.cmd("query-memory-devices").get("return", [])
        t.check("the destination re-created the DIMM",
                [d["data"]["id"] for d in devs] == ["dimm1"], repr(devs))
    dst.cmd("cont")
    expect_pass(t, dst, "destination")
    t.check("destination exits 1 (guest PASS)", dst.finish() == 1)
    src.cmd("quit")
    t.check("source exits 0 on quit", src.finish() == 0)


def auto_converge(t, tmp):
    sock = f"unix:{os.path.join(tmp, 'mig.sock')}"
    dst = Vm(FERRY, ["--memory", MEMORY, "--incoming", sock], tmp, "dst")
    src = Vm(FERRY, guest_args(), tmp, "src")
    t.check("source guest dirties memory", src.wait_line(r"^migrate: region .*pass [1-9]"))
    dst.qmp()
    src.cmd("migrate-set-parameters", {"max-bandwidth": 128 << 20, "downtime-limit": 300})
    r = src.cmd("migrate", {"uri": sock})
    t.check("migrate accepted", r and "return" in r, repr(r))
    deadline = time.monotonic() + HANG_LIMIT_S * 3
    while time.monotonic() < deadline:  # three rounds, however long they take
        r = src.cmd("query-migrate").get("return", {})
        if r.get("status") in ("completed", "failed", "cancelled") or \
                r.get("ram", {}).get("dirty-sync-count", 0) >= 3:
            break
        time.sleep(0.1)
    t.check("without auto-converge it does not converge (still active after 3 rounds)",
            r.get("status") == "active" and r.get("ram", {}).get("dirty-sync-count", 0) >= 3
            and "cpu-throttle-percentage" not in r, json.dumps(r))
    src.cmd("migrate_cancel")
    t.check("cancelled", src.wait_migration().get("status") == "cancelled")
    dst.finish()  # it gave up with the cancelled stream
    dst = Vm(FERRY, ["--memory", MEMORY, "--incoming", sock], tmp, "dst2")
    dst.qmp()
    src.cmd("migrate-set-parameters", {"auto-converge": True})
    ctl = subprocess.Popen([FERRY, "ctl", src.qmp_path, "migrate", sock, "--progress"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    throttle = 0
    deadline = time.monotonic() + HANG_LIMIT_S * 3
    while time.monotonic() < deadline:  # until ferry ctl saw it end
        r = src.cmd("query-migrate").get("return", {})
        throttle = max(throttle, r.get("cpu-throttle-percentage", 0))
        if ctl.poll() is not None:
            break
        time.sleep(0.1)
    r = src.cmd("query-migrate").get("return", {})
    out = ctl.communicate(timeout=HANG_LIMIT_S)[0].decode(errors="replace")
    t.check("ferry ctl migrate --progress exits 0", ctl.returncode == 0, out[-300:])
    t.check("and its progress line shows the throttle", re.search(r"throttle +[1-9][0-9]%", out),
            out[-300:])
    t.check("it completes", r.get("status") == "completed", json.dumps(r))
    t.check("and lets go of the vCPUs (no throttle reported)",
            "cpu-throttle-percentage" not in r, json.dumps(r))
    t.check("after throttling the vCPUs (QEMU's 20%, then +10% steps)",
            throttle >= 20 and throttle % 10 in (0, 9), throttle)
    print(f"stats: total {r.get('total-time')} ms, downtime {r.get('downtime')} ms, "
          f"{r.get('ram', {}).get('dirty-sync-count')} syncs, throttle up to {throttle}%",
          flush=True)
    expect_pass(t, dst, "destination")
    t.check("destination exits 1 (guest PASS)", dst.finish() == 1)
    src.cmd("quit")
    t.check("source exits 0 on quit", src.finish() == 0)


def no_go_ahead(t, tmp):
    """The switch-over's last byte lost: the source committed (postmigrate),
    the destination never runs the guest, and cont takes it back on the source."""
    sock = os.path.join(tmp, "mig.sock")
    src = Vm(FERRY, guest_args(), tmp, "src")
    t.check("source guest dirties memory", src.wait_line(r"^migrate: region .*pass [1-9]"))
    dst = Vm(FERRY, ["--memory", MEMORY, "--incoming", f"unix:{sock}.dst"], tmp, "dst")
    dst.qmp()
    start_proxy(sock, sock + ".dst", "no-go-ahead")
    r = src.cmd("migrate", {"uri": f"unix:{sock}"})
    t.check("migrate accepted", r and "return" in r, repr(r))
    end = src.wait_migration()
    t.check("the source completed (it gave the go-ahead)", end.get("status") == "completed",
            json.dumps(end))
    t.check("and is postmigrate",
            src.cmd("query-status").get("return", {}).get("status") == "postmigrate")
    status = dst.finish()
    text = "\n".join(dst.lines)
    t.check(f"without the go-ahead the destination exits non-zero ({status})",
            status not in (0, None), text[-500:])
    t.check("naming why, and the guest never ran there",
            "did not give the go-ahead" in text and "migrate:" not in text, text[-500:])
    src.cmd("cont")
    t.check("cont takes the guest back on the source",
            src.cmd("query-status").get("return", {}).get("status") == "running")
    expect_pass(t, src, "source")
    t.check("source exits 1 (guest PASS)", src.finish() == 1)


def failed_migration(t, tmp, how):
    sock = os.path.join(tmp, "mig.sock")
    # missing-block: the source boots through qboot, so it has a pc.bios
    # RAM block the destination (no --firmware) lacks.
    firmware = ["--firmware", QBOOT, "--boot", "pvh"] if how == "missing-block" else []
    src = Vm(FERRY, guest_args() + firmware, tmp, "src")
    t.check("source guest dirties memory", src.wait_line(r"^migrate: region .*pass [1-9]"))
    dst = None
    if how in ("cancel", "dst-killed", "rom-resize", "smaller-ram", "missing-block",
               "corrupt-page", "corrupt-section", "truncated"):
        mem = "256M" if how == "smaller-ram" else MEMORY
        listen = sock + ".dst" if how.startswith("corrupt") or how == "truncated" else sock
        dst = Vm(FERRY, ["--memory", mem, "--incoming", f"unix:{listen}"], tmp, "dst")
        dst.qmp()
        if listen != sock:
            start_proxy(sock, listen, how)
    if how in ("cancel", "dst-killed", "rom-resize"):
        src.cmd("migrate-set-parameters", {"max-bandwidth": 64 << 20})
    r = src.cmd("migrate", {"uri": f"unix:{sock}"})
    if how == "refused":
        t.check("migrate to a socket nobody listens on is refused",
                r and "error" in r and re.search("refused|No such file", r["error"]["desc"]),
                repr(r))
    else:
        t.check("migrate accepted", r and "return" in r, repr(r))
        if how in ("cancel", "dst-killed", "rom-resize"):
            time.sleep(1.0)
            if how == "cancel":
                src.cmd("migrate_cancel")
            elif how == "rom-resize":
                r = src.cmd("x-ram-block-resize", {"block": "/rom@etc/acpi/tables",
                                                   "size": 0x3000})
                t.check("the ROM blob resized", r and "return" in r, repr(r))
            else:
                dst.proc.kill()
        end = src.wait_migration()
        want = "cancelled" if how == "cancel" else "failed"
        t.check(f"migration {want}: {end.get('error-desc', '')}", end.get("status") == want,
                json.dumps(end))
        if how == "rom-resize":
            t.check("the reason names the resized block",
                    "/rom@etc/acpi/tables resized" in end.get("error-desc", ""), json.dumps(end))
    t.check("the source still runs",
            src.cmd("query-status").get("return", {}).get("status") == "running")
    if dst and how not in ("dst-killed", "rom-resize"):
        status = dst.finish()
        t.check(f"destination exits non-zero ({status})", status not in (0, None))
        text = "\n".join(dst.lines)
        if how == "smaller-ram":
            t.check("destination names the problem with the seed's text",
                    re.search(r"Size mismatch: pc\.ram", text), text[-500:])
        elif how == "missing-block":
            t.check("destination names the problem with the seed's text",
                    re.search(r'Unknown ramblock "pc\.bios"', text), text[-500:])
        else:
            t.check("destination refuses the stream in one line",
                    re.search(r"ferry: incoming migration failed: ", text), text[-500:])
    if how == "cancel":  # a new migrate works afterwards
        src.cmd("migrate-set-parameters", {"max-bandwidth": 0})
        dst2 = Vm(FERRY, ["--memory", MEMORY, "--incoming", f"unix:{sock}2"], tmp, "dst2")
        dst2.qmp()
        src.cmd("migrate", {"uri": f"unix:{sock}2"})
        end = src.wait_migration()
        t.check("a second migrate after the cancel completes", end.get("status") == "completed",
                json.dumps(end))
        expect_pass(t, dst2, "second destination")
        dst2.finish()
        src.cmd("quit")
        src.finish()
        return
    expect_pass(t, src, "source")
    src.finish()


RECORD_PAGES, RECORD_DEVICE_STATE, RECORD_END = 3, 4, 5  # migration/FORMAT.md


def start_proxy(listen_path, target_path, how):
    """A UNIX proxy that damages the stream on its way, record-aware:
    corrupt-page puts an impossible block index in the first page record,
    corrupt-section flips the last byte of the first device-state section
    (caught by the checksum), truncated cuts the stream after 16 MiB,
    no-go-ahead passes the whole stream and the destination's ack but hangs
    up instead of passing the source's go-ahead."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen_path)
    server.listen(1)

    def damage(rtype, record, state):
        if how == "corrupt-page" and rtype == RECORD_PAGES and not state["done"]:
            record[8:12] = (0xFFFF).to_bytes(4, "little")
            state["done"] = True
        if how == "corrupt-section" and rtype == RECORD_DEVICE_STATE and not state["done"]:
            record[-1] ^= 0x01
            state["done"] = True

    def backwards(a, b):
        """The destination's answer (the ack, or its hang-up) to the source."""
        try:
            while True:
                data = b.recv(4096)
                if not data:
                    break
                a.sendall(data)
        except OSError:
            pass
        try:
            a.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def run():
        a, _ = server.accept()
        b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        b.connect(target_path)
        threading.Thread(target=backwards, args=(a, b), daemon=True).start()
        pending, header_left, sent = bytearray(), 20, 0
        state = {"done": False}
        try:
            while True:
                data = a.recv(1 << 20)
                if not data:
                    break
                pending += data
                out = bytearray()
                if header_left:
                    take = min(header_left, len(pending))
                    out += pending[:take]
                    del pending[:take]
                    header_left -= take
                while not header_left and len(pending) >= 8:
                    rtype = int.from_bytes(pending[0:4], "little")
                    length = int.from_bytes(pending[4:8], "little")
                    if len(pending) < 8 + length:
                        break
                    record = pending[: 8 + length]
                    del pending[: 8 + length]
                    damage(rtype, record, state)
                    out += record
                    state["end"] = rtype == RECORD_END
                if how == "no-go-ahead" and state.get("end") and pending:
                    b.sendall(bytes(out))
                    break  # the go-ahead: swallowed, and the destination hung up on
                if how == "truncated" and sent + len(out) > (16 << 20):
                    b.sendall(bytes(out[: (16 << 20) - sent]))
                    break
                b.sendall(bytes(out))
                sent += len(out)
        except OSError:
            pass  # the destination refused and hung up
        finally:
            # shutdown, not just close: the other pump thread still holds them.
            for sock in (b, a):  # the destination, then the source, see the hang-up
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    threading.Thread(target=run, daemon=True).start()


def netns_setup():
    tag = f"ferry{os.getpid()}"
    ns = {"src": f"{tag}s", "dst": f"{tag}d", "dst_addr": "192.0.2.2"}
    cmds = [f"ip netns add {ns['src']}", f"ip netns add {ns['dst']}",
            f"ip link add {tag}a type veth peer name {tag}b",
            f"ip link set {tag}a netns {ns['src']}", f"ip link set {tag}b netns {ns['dst']}",
            f"ip -n {ns['src']} addr add 192.0.2.1/24 dev {tag}a",
            f"ip -n {ns['dst']} addr add 192.0.2.2/24 dev {tag}b",
            f"ip -n {ns['src']} link set {tag}a up", f"ip -n {ns['dst']} link set {tag}b up",
            f"ip -n {ns['src']} link set lo up", f"ip -n {ns['dst']} link set lo up"]
    for c in cmds:
        subprocess.run(c.split(), check=True)
    return ns


def netns_teardown(ns):
    for n in (ns["src"], ns["dst"]):
        subprocess.run(["ip", "netns", "del", n])


def main():
    global FERRY, GUEST
    mode, FERRY, GUEST = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    t = Checker()
    dimm_memory = ["--memory", "512M,slots=4,maxmem=2G"]
    variants = {  # mode: both sides' options, guest command line, DIMM
        "unix": ([], "", False),
        "ring": (["--dirty-tracking", "ring"], "", False),
        "cpus2": (["--cpus", "2"], "cpus=2", False),
        "dimm": (dimm_memory, "dimm=1 slots=4", True),
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = mode.removeprefix("tcp-netns-") if mode != "tcp-netns" else "unix"
        if mode in variants:
            extra, cmdline, dimm = variants[mode]
            good_migration(t, tmp, extra, extra, cmdline=cmdline, dimm=dimm)
        elif mode.startswith("tcp-netns") and base in variants:
            extra, cmdline, dimm = variants[base]
            ns = netns_setup()
            try:
                good_migration(t, tmp, extra, extra, cmdline=cmdline, dimm=dimm, netns=ns)
            finally:
                netns_teardown(ns)
        elif mode == "no-go-ahead":
            no_go_ahead(t, tmp)
        elif mode == "zero-copy":
            good_migration(t, tmp, zero_copy=True)
        elif mode == "auto-converge":
            auto_converge(t, tmp)
        elif mode == "machine-fdt":
            path = os.path.join(tmp, "machine.dtb")
            r = subprocess.run([FERRY, "run", "--memory", "512M,slots=2,maxmem=2G", "--test-exit",
                                "--cmdline", "test=hello", "--info", "machine-fdt", path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            blob = open(path, "rb").read() if os.path.exists(path) else b""
            t.check("--info machine-fdt writes a device tree (magic d00dfeed)",
                    blob[:4] == bytes.fromhex("d00dfeed") and b"ferry,machine" in blob, blob[:16])
            t.check("and then boots", r.returncode == 1 and b"PASS: hello" in r.stdout, r.stdout)
        else:
            failed_migration(t, tmp, mode)
    return 1 if t.problems else 0


if __name__ == "__main__":
    sys.exit(main())
