#!/usr/bin/env python3
"""Live-migrates the test guest's migrate test from one QEMU to another on
this host: the reference run of the handshake (and QEMU's numbers for the
same guest), not a test of ferry.

  qemu-migrate.py KERNEL [--cmdline "test=migrate mib=64 passes=3 cpus=2"] [--smp 2]

Source: serial to a file, HMP on a UNIX socket. Destination: -incoming tcp,
serial on a pipe. Once the source prints its first progress line, migrate;
when QEMU reports completed, send 'M' to the destination's serial console
and expect PASS (isa-debug-exit status 1). Exit status 0 on PASS.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("kernel")
ap.add_argument("--cmdline", default="test=migrate mib=64 passes=3 cpus=2")
ap.add_argument("--smp", default="2")
ap.add_argument("--memory", default="512M")
ap.add_argument("--port", type=int, default=47111)
ap.add_argument("--timeout", type=float, default=60)
args = ap.parse_args()

work = tempfile.mkdtemp(prefix="qemu-migrate.")
src_log, dst_log, mon_path = (os.path.join(work, n) for n in ("src.log", "dst.log", "src.mon"))
common = ["qemu-system-x86_64", "-enable-kvm", "-M", "pc", "-m", args.memory, "-smp", args.smp,
          "-display", "none", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
          "-kernel", args.kernel, "-append", args.cmdline]
src = subprocess.Popen(common + ["-serial", "file:" + src_log,
                                 "-monitor", f"unix:{mon_path},server=on,wait=off"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dst = subprocess.Popen(common + ["-serial", "stdio", "-incoming", f"tcp:127.0.0.1:{args.port}"],
                       stdin=subprocess.PIPE, stdout=open(dst_log, "wb"), stderr=subprocess.DEVNULL)


def finish(msg, status):
    for p in (src, dst):
        if p.poll() is None:
            p.kill()
    print(msg)
    for name, path in (("source", src_log), ("destination", dst_log)):
        try:
            lines = open(path, "rb").read().decode(errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        print(f"--- {name} serial (last 12 lines)")
        print("\n".join(lines[-12:]))
    sys.exit(status)


def wait_for(path, pattern):
    start = time.time()
    while time.time() - start < args.timeout:
        try:
            if re.search(pattern, open(path, "rb").read().decode(errors="replace")):
                return
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    finish(f"no '{pattern}' in {path} within {args.timeout} s", 1)


wait_for(src_log, r"migrate: region 0x[0-9a-f]+ \d+ MiB, pass [1-9]")
mon = socket.socket(socket.AF_UNIX)
mon.connect(mon_path)


def hmp(cmd):
    mon.sendall((cmd + "\n").encode())
    time.sleep(0.3)
    return mon.recv(65536).decode(errors="replace")


hmp("migrate_set_parameter downtime-limit 300")
hmp("migrate_set_parameter max-bandwidth 20G")    # 7.2's default, 128 MiB/s, never converges
start = time.time()
hmp(f"migrate -d tcp:127.0.0.1:{args.port}")
while True:
    out = hmp("info migrate")
    m = re.search(r"Migration status: (\w+)", out)
    state = m.group(1) if m else "?"
    if state in ("completed", "failed", "cancelled"):
        break
    if time.time() - start > args.timeout:
        finish(f"migration still '{state}' after {args.timeout} s", 1)
print(f"migration {state} in {time.time() - start:.1f} s")
for key in ("total time", "downtime", "transferred ram", "dirty sync count"):
    km = re.search(key + r": [^\r\n]*", out)
    if km:
        print("  " + km.group(0))
if state != "completed":
    finish("migration did not complete", 1)
dst.stdin.write(b"M")
dst.stdin.flush()
try:
    status = dst.wait(timeout=args.timeout)
except subprocess.TimeoutExpired:
    finish("the destination did not finish after 'M'", 1)
passed = status == 1 and b"PASS: migrate" in open(dst_log, "rb").read()
finish(f"destination exit status {status}: {'PASS' if passed else 'FAIL'}", 0 if passed else 1)
