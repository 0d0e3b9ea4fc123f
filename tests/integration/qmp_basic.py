#!/usr/bin/env python3
"""The QMP control socket, as a management tool and a person use it.

    qmp_basic.py FERRY GUEST

ferry runs the test guest's `echo` test (it waits for serial input that never
comes: a guest that stays up) with --api-socket.  Through a raw socket:
greeting, the error before negotiation, negotiation, query-status, stop/cont
with their events on two clients at once, unknown commands, malformed JSON
(the connection stays usable), ill-typed arguments, `info mtree`; the socket
file is 0600 and a second ferry on the same path is refused.  Through
`ferry ctl`: info, an error, --wait-event.  Then `quit`: a reply, the
SHUTDOWN event, status 0 and the socket file gone.
"""
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

import checker
from qmp import HANG_LIMIT_S, Qmp


class Checker(checker.Checker):
    """The shared checker, plus QMP reply shapes."""

    def error(self, what, reply, klass, desc_prefix):
        err = (reply or {}).get("error", {})
        self.check(what, err.get("class") == klass and err.get("desc", "").startswith(desc_prefix),
                   repr(reply))

    def empty_return(self, what, reply):
        self.check(what, reply is not None and reply.get("return") == {}, repr(reply))


def wait_for_socket(path, proc):
    deadline = time.monotonic() + HANG_LIMIT_S
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def ctl(ferry, *args):
    return subprocess.run([ferry, "ctl", *args], capture_output=True, text=True,
                          timeout=HANG_LIMIT_S)


def main():
    ferry, guest = sys.argv[1], sys.argv[2]
    t = Checker()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.sock")
        proc = subprocess.Popen(
            [ferry, "run", "--kernel", guest, "--cmdline", "test=echo",
             "--serial", "file:" + os.path.join(tmp, "serial.log"), "--api-socket", path],
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if not wait_for_socket(path, proc):
                t.check("socket appears", False, proc.stderr.read().decode())
                return 1
            t.check("socket file is 0600", stat.S_IMODE(os.stat(path).st_mode) == 0o600,
                    oct(os.stat(path).st_mode))
            run_session(t, ferry, guest, path, tmp)
            quit_session(t, proc, path)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(f"{len(t.problems)} problem(s)" if t.problems else "PASS: qmp-basic")
    return 1 if t.problems else 0


def run_session(t, ferry, guest, path, tmp):
    a = Qmp(path)
    greeting = a.read()
    t.check("greeting", isinstance(greeting, dict) and "QMP" in greeting
            and "qemu" in greeting["QMP"].get("version", {})
            and greeting["QMP"].get("capabilities") == [], repr(greeting))
    t.error("command before negotiation", a.cmd("query-status"), "CommandNotFound",
            "Expecting capabilities negotiation with 'qmp_capabilities'")
    t.empty_return("qmp_capabilities", a.cmd("qmp_capabilities"))
    status = a.cmd("query-status", id="s1")
    t.check("query-status running", status.get("return") == {"status": "running", "running": True}
            and status.get("id") == "s1", repr(status))

    b = Qmp(path)
    b.read()
    t.empty_return("second client negotiates", b.cmd("qmp_capabilities"))

    t.empty_return("stop", a.cmd("stop"))
    status = a.cmd("query-status")
    t.check("query-status paused", status.get("return") == {"status": "paused", "running": False},
            repr(status))
    ev = a.event("STOP")
    t.check("STOP event", ev is not None and set(ev["timestamp"]) == {"seconds", "microseconds"},
            repr(ev))
    t.check("STOP event on the second client", b.event("STOP") is not None)
    t.empty_return("stop again (no-op)", a.cmd("stop"))
    t.empty_return("cont", a.cmd("cont"))
    t.check("RESUME event", a.event("RESUME") is not None)
    t.check("RESUME event on the second client", b.event("RESUME") is not None)
    status = b.cmd("query-status")
    t.check("running again", status.get("return", {}).get("status") == "running", repr(status))

    t.error("unknown command", a.cmd("no-such-thing", id=5), "CommandNotFound",
            "The command no-such-thing has not been found")
    a.send_raw(b'{"execute": "query-status", }\n')
    t.error("malformed JSON", a.reply(), "GenericError", "JSON parse error, ")
    a.send_raw(b'[1, 2]\n')
    t.error("not an object", a.reply(), "GenericError", "QMP input must be a JSON object")
    t.check("usable after bad input", "return" in a.cmd("query-status"))
    t.error("argument of the wrong type",
            a.cmd("human-monitor-command", {"command-line": 5}), "GenericError",
            "Invalid parameter type for 'command-line', expected: string")
    t.error("missing argument", a.cmd("human-monitor-command", {}), "GenericError",
            "Parameter 'command-line' is missing")
    t.error("unexpected argument", a.cmd("stop", {"now": True}), "GenericError",
            "Parameter 'now' is unexpected")
    t.error("arguments not an object", a.cmd("stop", [1]), "GenericError",
            "QMP input member 'arguments' must be an object")
    mtree = a.cmd("human-monitor-command", {"command-line": "info mtree"})
    t.check("info mtree", "address-space: memory" in mtree.get("return", "")
            and "ram-below-4g" in mtree.get("return", ""), repr(mtree)[:200])
    t.error("unknown info topic", a.cmd("human-monitor-command", {"command-line": "info cpus"}),
            "GenericError", "info cpus: unknown topic")
    t.empty_return("system_powerdown", a.cmd("system_powerdown"))

    # Another ferry on the same path: one line, status 1, and ours lives on.
    second = subprocess.run([ferry, "run", "--kernel", guest, "--api-socket", path,
                             "--serial", "none"], capture_output=True, text=True,
                            timeout=HANG_LIMIT_S)
    lines = second.stderr.splitlines()
    t.check("second ferry on the socket refused", second.returncode == 1 and len(lines) == 1
            and lines[0].startswith("ferry: --api-socket ") and "listening" in lines[0],
            f"status {second.returncode}, stderr {second.stderr!r}")
    t.check("first ferry still answers", "return" in b.cmd("query-status"))

    r = ctl(ferry, path, "info", "ramblock")
    t.check("ferry ctl info ramblock", r.returncode == 0 and "pc.ram" in r.stdout
            and "Block Name" in r.stdout, repr(r))
    r = ctl(ferry, path, "query-status")
    t.check("ferry ctl query-status", r.returncode == 0
            and json.loads(r.stdout) == {"status": "running", "running": True}, repr(r))
    r = ctl(ferry, path, "frobnicate", "x=1")
    t.check("ferry ctl unknown command", r.returncode == 1
            and r.stderr == "ferry ctl: The command frobnicate has not been found\n", repr(r))
    r = ctl(ferry, path, "stop", "--wait-event", "STOP")
    t.check("ferry ctl stop --wait-event STOP", r.returncode == 0
            and json.loads(r.stdout).get("event") == "STOP", repr(r))
    r = ctl(ferry, path, "--wait-event", "NEVER", "--timeout", "1")
    t.check("ferry ctl --wait-event times out", r.returncode == 1
            and "no NEVER event within 1 s" in r.stderr, repr(r))
    r = ctl(ferry, path, "cont")
    t.check("ferry ctl cont", r.returncode == 0 and r.stdout == "", repr(r))
    r = ctl(ferry, os.path.join(tmp, "missing.sock"), "query-status")
    t.check("ferry ctl on a missing socket", r.returncode == 1
            and r.stderr.startswith("ferry ctl: ") and "no such socket" in r.stderr, repr(r))
    a.close()
    b.close()


def quit_session(t, proc, path):
    c = Qmp(path)
    c.read()
    c.cmd("qmp_capabilities")
    reply = c.cmd("quit", id="bye")
    t.check("quit replies", reply == {"return": {}, "id": "bye"}, repr(reply))
    ev = c.event("SHUTDOWN")
    t.check("SHUTDOWN event", ev is not None
            and ev.get("data") == {"guest": False, "reason": "host-qmp-quit"}, repr(ev))
    t.check("connection closed after quit", c.read() is None)
    try:
        status = proc.wait(timeout=HANG_LIMIT_S)
    except subprocess.TimeoutExpired:
        status = None
    stderr = proc.stderr.read().decode()
    t.check("ferry exits 0 after quit", status == 0, f"status {status}, stderr {stderr!r}")
    t.check("socket file removed", not os.path.exists(path))


if __name__ == "__main__":
    sys.exit(main())
