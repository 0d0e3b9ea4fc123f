#!/usr/bin/env python3
"""The serial console on a terminal, as a person uses it.

    console_tty.py FERRY GUEST

ferry runs the test guest's `echo` test with its stdin and stdout on a
pseudo-terminal: typed lines come back in capitals (so input reaches the
guest through the raw terminal), Ctrl-A x stops ferry with status 1, and
the terminal is back in its original (cooked) mode afterwards.
"""
import os
import subprocess
import sys
import termios
import time

HANG_LIMIT_S = 120  # a safety net, not a performance limit


def read_until(fd, needle, seen):
    deadline = time.monotonic() + HANG_LIMIT_S
    while needle not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        seen += chunk
    return seen


def main():
    ferry, guest = sys.argv[1], sys.argv[2]
    master, slave = os.openpty()
    cooked = termios.tcgetattr(slave)
    proc = subprocess.Popen([ferry, "run", "--kernel", guest, "--cmdline", "test=echo"],
                            stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    problems = []
    seen = read_until(master, b"quit\" ends", b"")
    os.write(master, b"hello tty\r")
    seen = read_until(master, b"echo: HELLO TTY", seen)
    if b"echo: HELLO TTY" not in seen:
        problems.append("the guest did not echo the typed line")
    os.write(master, b"\x01x")
    try:
        status = proc.wait(timeout=HANG_LIMIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
        problems.append("Ctrl-A x did not stop ferry")
    err = proc.stderr.read().decode(errors="replace")
    if status != 1:
        problems.append(f"exit status {status}, expected 1")
    if "Ctrl-A x" not in err:
        problems.append("no Ctrl-A x message on stderr")
    if termios.tcgetattr(slave) != cooked:
        problems.append("the terminal was left in raw mode")
    print("console:", seen.decode(errors="replace"))
    print("stderr:", err)
    for p in problems:
        print("FAILED:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
