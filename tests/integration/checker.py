"""The integration scripts' verdicts: one "ok   what" or "FAIL what: detail"
line per check, and the list of failures for the exit status."""


class Checker:
    def __init__(self):
        self.problems = []

    def check(self, what, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if not ok and detail != "" else ""),
              flush=True)
        if not ok:
            self.problems.append(what)
        return ok
