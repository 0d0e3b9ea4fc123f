"""A raw QMP client for the integration tests: one JSON message per line
from ferry, events kept aside while waiting for replies."""
import json
import socket

HANG_LIMIT_S = 60  # a safety net, not a performance limit


class Qmp:
    """A raw QMP connection: one JSON message per line from ferry."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(HANG_LIMIT_S)
        self.sock.connect(path)
        self.buf = b""
        self.events = []

    def send_raw(self, data):
        self.sock.sendall(data)

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self):
        """The next reply; events on the way are kept in self.events."""
        while True:
            msg = self.read()
            if msg is None or "event" not in msg:
                return msg
            self.events.append(msg)

    def cmd(self, name, arguments=None, **extra):
        req = {"execute": name, **extra}
        if arguments is not None:
            req["arguments"] = arguments
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.reply()

    def event(self, name):
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name:
                    return self.events.pop(i)
            msg = self.read()
            if msg is None:
                return None
            if "event" in msg:
                self.events.append(msg)

    def close(self):
        self.sock.close()
