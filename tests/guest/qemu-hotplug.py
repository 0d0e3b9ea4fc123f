#!/usr/bin/env python3
"""Drives the test guest's hotplug and unplug tests under QEMU (or ferry) through QMP.

Starts QEMU (-M pc, multiboot through SeaBIOS) with the test guest, follows its
serial output, and plugs/unplugs PC-DIMMs when the guest says it is waiting.
Reports the plug latency (device_add sent -> "slot S acknowledged" read on the
serial line) for each DIMM: the QEMU reference for ferry's hotplug benchmark.

  qemu-hotplug.py BUILD/tests/guest/testguest.elf                 # 2 DIMMs: 128M ram + 1G memfd
  qemu-hotplug.py ELF --scenario unplug                           # plug, device_del, eject
  qemu-hotplug.py ELF --scenario replug                           # ... then plug again
  qemu-hotplug.py ELF --plug ram:128M --plug ram:128M --plug ram:256M
  qemu-hotplug.py ELF --ferry build/ferry                         # the same against ferry

Exit status 0 when the guest printed PASS and the VMM exited with 1 (isa-debug-exit
code 0), 1 otherwise.
"""
import argparse
import json
import os
import queue
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.strip().upper()
    if s[-1] in units:
        return int(s[:-1]) * units[s[-1]]
    return int(s)


class Qmp:
    """A QMP client: commands wait for their return; events are kept."""

    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rb")
        self.replies = queue.Queue()
        self.events = []
        self.event_cv = threading.Condition()
        greeting = json.loads(self.file.readline())
        if "QMP" not in greeting:
            raise RuntimeError(f"not a QMP greeting: {greeting}")
        threading.Thread(target=self._reader, daemon=True).start()
        self.command("qmp_capabilities")

    def _reader(self):
        for line in self.file:
            msg = json.loads(line)
            if "event" in msg:
                with self.event_cv:
                    msg["_received"] = time.monotonic()
                    self.events.append(msg)
                    self.event_cv.notify_all()
            else:
                self.replies.put(msg)
        self.replies.put({"error": {"desc": "QMP connection closed"}})

    def command(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        reply = self.replies.get(timeout=30)
        if "error" in reply:
            raise RuntimeError(f"{name}: {reply['error'].get('desc', reply['error'])}")
        return reply.get("return")

    def wait_event(self, name, pred=lambda e: True, timeout=30.0):
        deadline = time.monotonic() + timeout
        with self.event_cv:
            while True:
                for e in self.events:
                    if e["event"] == name and pred(e):
                        self.events.remove(e)
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no QMP event {name} within {timeout} s")
                self.event_cv.wait(left)


class Console:
    """The guest's serial output, line by line, with arrival times."""

    def __init__(self, stream, echo=True):
        self.lines = []
        self.cv = threading.Condition()
        self.closed = False
        self.echo = echo
        threading.Thread(target=self._reader, args=(stream,), daemon=True).start()

    def _reader(self, stream):
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\r\n")
            now = time.monotonic()
            if self.echo:
                print(f"  | {line}", flush=True)
            with self.cv:
                self.lines.append((now, line))
                self.cv.notify_all()
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def wait(self, pattern, start=0, timeout=90.0):
        """First line at index >= start matching pattern: (index, time, match)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(start, len(self.lines)):
                    m = rx.search(self.lines[i][1])
                    if m:
                        return i, self.lines[i][0], m
                if any(l.startswith("FAIL:") for _, l in self.lines[start:]):
                    raise RuntimeError("guest failed while waiting for /" + pattern + "/")
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    raise TimeoutError(f"no guest line /{pattern}/ "
                                       f"({'QEMU exited' if self.closed else f'{timeout} s'})")
                self.cv.wait(left)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kernel", help="testguest.elf (multiboot)")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--ferry", metavar="PATH", help="run this ferry binary instead of QEMU "
                    "(ferry run --test-exit --api-socket; same QMP commands)")
    ap.add_argument("--memory", default="256M,slots=4,maxmem=4G", help="-m argument")
    ap.add_argument("--plug", action="append", metavar="KIND:SIZE[@ADDR]",
                    help="backend kind (ram, memfd), size and optional guest address; repeatable "
                         "(default ram:128M memfd:1G for hotplug, ram:128M otherwise)")
    ap.add_argument("--scenario", choices=["hotplug", "unplug", "replug"], default="hotplug")
    ap.add_argument("--append", help="guest command line (default from the scenario)")
    ap.add_argument("--timeout", type=float, default=120.0, help="whole run, seconds")
    ap.add_argument("--quiet", action="store_true", help="do not echo the guest's output")
    args = ap.parse_args()

    slots = int(re.search(r"slots=(\d+)", args.memory).group(1))
    plugs = args.plug or (["ram:128M", "memfd:1G"] if args.scenario == "hotplug" else ["ram:128M"])
    if args.scenario == "replug" and len(plugs) == 1:
        plugs = plugs * 2
    if args.append:
        cmdline = args.append
    elif args.scenario == "hotplug":
        cmdline = f"test=hotplug dimms={len(plugs)} slots={slots}"
    else:
        cmdline = f"test=unplug slots={slots}" + (" replug=1" if args.scenario == "replug" else "")
    test = re.search(r"test=(\w+)", cmdline).group(1)

    tmp = tempfile.mkdtemp(prefix="qemu-hotplug-")
    sock = os.path.join(tmp, "qmp.sock")
    if args.ferry:
        cmd = [args.ferry, "run", "--kernel", args.kernel, "--cmdline", cmdline,
               "--memory", args.memory, "--test-exit", "--api-socket", sock]
    else:
        cmd = [args.qemu, "-enable-kvm", "-M", "pc", "-m", args.memory, "-smp", "1",
               "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
               "-kernel", args.kernel, "-append", cmdline,
               "-qmp", f"unix:{sock},server=on,wait=off"]
    print("qemu-hotplug: " + shlex.join(cmd), flush=True)
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    console = Console(qemu.stdout, echo=not args.quiet)
    ok = False
    latencies = []
    try:
        qmp = Qmp(sock)
        timeout = args.timeout
        seen, _, m = console.wait(rf"^{test}: waiting for", timeout=timeout)

        def plug(n, spec):
            kind, size = spec.split(":")
            size, _, addr = size.partition("@")
            backend = {"ram": "memory-backend-ram", "memfd": "memory-backend-memfd"}[kind]
            qmp.command("object-add", **{"qom-type": backend, "id": f"m{n}", "size": parse_size(size)})
            extra = {"addr": int(addr, 0)} if addr else {}
            t0 = time.monotonic()
            qmp.command("device_add", driver="pc-dimm", id=f"d{n}", memdev=f"m{n}", **extra)
            i, t1, m = console.wait(rf"^{test}: slot (\d+) acknowledged", start=seen + 1, timeout=timeout)
            ms = (t1 - t0) * 1000
            latencies.append(ms)
            slot = int(m.group(1))
            print(f"qemu-hotplug: d{n} ({spec}) in slot {slot}: device_add -> acknowledged {ms:.1f} ms",
                  flush=True)
            i, _, _ = console.wait(rf"^{test}: slot {slot}: base 0x[0-9a-f]+ size \d+ MiB checked",
                                   start=i + 1, timeout=timeout)
            ost = qmp.wait_event("ACPI_DEVICE_OST", lambda e: e["data"]["info"].get("device") == f"d{n}"
                                 and e["data"]["info"].get("source") == 1, timeout=5)
            print(f"qemu-hotplug: ACPI_DEVICE_OST {ost['data']['info']}", flush=True)
            return i, slot

        if args.scenario == "hotplug":
            for n, spec in enumerate(plugs, 1):
                seen, _ = plug(n, spec)
        else:
            seen, slot = plug(1, plugs[0])
            seen, _, _ = console.wait(rf"^unplug: slot {slot} ready", start=seen, timeout=timeout)
            t0 = time.monotonic()
            qmp.command("device_del", id="d1")
            seen, t1, _ = console.wait(rf"^unplug: slot {slot} ejected", start=seen + 1, timeout=timeout)
            ev = qmp.wait_event("DEVICE_DELETED", lambda e: e["data"].get("device") == "d1", timeout=10)
            print(f"qemu-hotplug: device_del -> ejected {(t1 - t0) * 1000:.1f} ms, "
                  f"-> DEVICE_DELETED {(ev['_received'] - t0) * 1000:.1f} ms", flush=True)
            ost = qmp.wait_event("ACPI_DEVICE_OST", lambda e: e["data"]["info"].get("source") == 3,
                                 timeout=5)
            print(f"qemu-hotplug: ACPI_DEVICE_OST {ost['data']['info']}", flush=True)
            qmp.command("object-del", id="m1")
            if args.scenario == "replug":
                seen, slot2 = plug(2, plugs[1])
                if slot2 != slot:
                    print(f"qemu-hotplug: note: replugged into slot {slot2}, not the freed slot {slot}")

        console.wait(rf"^PASS: {test}$", timeout=timeout)
        status = qemu.wait(timeout=30)
        ok = status == 1
        print(f"qemu-hotplug: VMM exit status {status}" + ("" if ok else " (want 1)"), flush=True)
    except Exception as e:                  # report, kill, exit 1
        print(f"qemu-hotplug: {type(e).__name__}: {e}", flush=True)
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        try:
            os.unlink(sock)
        except OSError:
            pass
        os.rmdir(tmp)
    if latencies:
        print("qemu-hotplug: plug latency ms: " + " ".join(f"{ms:.1f}" for ms in latencies), flush=True)
    print(f"qemu-hotplug: {'PASS' if ok else 'FAIL'} {args.scenario}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
