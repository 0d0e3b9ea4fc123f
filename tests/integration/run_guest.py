#!/usr/bin/env python3
"""Run ferry and check what a user would check: the exit status, lines on
the console, and what went to stderr.

    run_guest.py [--status N] [--expect REGEX]... [--reject REGEX]...
                 [--stderr-expect REGEX]... [--stderr-lines N] [--file-expect FILE:REGEX]...
                 [--stop-when-seen] [--stdin TEXT] -- FERRY ARGS...

--stop-when-seen ends ferry (SIGTERM) once every --expect matched: for
guests that never finish on their own (a Linux kernel on this host).
Exit 0 when everything held, 1 otherwise, with the reason and the output.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import threading

# A hung guest must not hang the suite; this is a safety net, not a
# performance limit: every guest here finishes in a few seconds.
HANG_LIMIT_S = 600


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--status", type=int, help="expected exit status")
    p.add_argument("--expect", action="append", default=[], help="regex expected on stdout")
    p.add_argument("--reject", action="append", default=[], help="regex that must not appear on stdout")
    p.add_argument("--stderr-expect", action="append", default=[], help="regex expected on stderr")
    p.add_argument("--stderr-lines", type=int, help="exact number of lines on stderr")
    p.add_argument("--file-expect", action="append", default=[], metavar="FILE:REGEX",
                   help="regex expected in FILE after the run (a log ferry wrote)")
    p.add_argument("--stop-when-seen", action="store_true")
    p.add_argument("--stdin", help="text to feed the guest's console (\\n for newlines)")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        p.error("no command")
    return args


def run(args):
    proc = subprocess.Popen(args.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if args.stdin else subprocess.DEVNULL)
    if args.stdin:
        proc.stdin.write(args.stdin.replace("\\n", "\n").encode())
        proc.stdin.close()
    stdout, stderr = [], []
    pending = [re.compile(e) for e in args.expect]
    seen_all = threading.Event()

    def pump_stdout():
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            stdout.append(line)
            pending[:] = [p for p in pending if not p.search(line)]
            if args.stop_when_seen and not pending and not seen_all.is_set():
                seen_all.set()
                proc.send_signal(signal.SIGTERM)

    def pump_stderr():
        for raw in iter(proc.stderr.readline, b""):
            stderr.append(raw.decode(errors="replace"))

    threads = [threading.Thread(target=pump_stdout), threading.Thread(target=pump_stderr)]
    for t in threads:
        t.start()
    try:
        status = proc.wait(timeout=HANG_LIMIT_S)
        hung = False
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
        hung = True
    for t in threads:
        t.join()
    return status, "".join(stdout), "".join(stderr), hung, seen_all.is_set()


def main():
    args = parse_args()
    status, out, err, hung, stopped = run(args)
    problems = []
    if hung:
        problems.append(f"ferry did not finish within {HANG_LIMIT_S} s")
    if status < 0 and not stopped:
        problems.append(f"ferry died from signal {-status}")
    if args.status is not None and not stopped and status != args.status:
        problems.append(f"exit status {status}, expected {args.status}")
    for e in args.expect:
        if not re.search(e, out, re.M):
            problems.append(f"stdout lacks /{e}/")
    for e in args.reject:
        if re.search(e, out, re.M):
            problems.append(f"stdout has /{e}/")
    for e in args.stderr_expect:
        if not re.search(e, err, re.M):
            problems.append(f"stderr lacks /{e}/")
    for spec in args.file_expect:
        path, regex = spec.split(":", 1)
        try:
            text = open(path, errors="replace").read()
        except OSError as e:
            problems.append(f"{path}: {e.strerror}")
            continue
        if not re.search(regex, text, re.M):
            problems.append(f"{path} lacks /{regex}/")
    if args.stderr_lines is not None and len(err.splitlines()) != args.stderr_lines:
        problems.append(f"stderr has {len(err.splitlines())} lines, expected {args.stderr_lines}")
    print("command:", " ".join(args.command))
    print(f"exit status: {status}")
    print("--- stdout ---\n" + out[-6000:])
    print("--- stderr ---\n" + err[-6000:])
    for p in problems:
        print("FAILED:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
