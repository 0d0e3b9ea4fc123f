#!/usr/bin/env python3
"""Boot a stock Debian kernel (linux-image-cloud-amd64) with ferry.

    linux_boot.py bzimage FERRY   the bzImage; its decompressor must print
                                  "KASLR disabled" on the 8250 console
    linux_boot.py pvh FERRY       the vmlinux inside it, through PVH; it must
                                  print "Linux version" and an e820 map that
                                  matches --memory
    linux_boot.py acpi FERRY      the same, with 2 vCPUs; it must list ferry's
                                  ACPI tables (OEM ID FERRY), find the IOAPIC
                                  in the MADT and the RAM in the SRAT
    linux_boot.py srat-hotplug FERRY  the vmlinux with --memory 256M,slots=4,maxmem=4G:
                                  it must print the SRAT's hot-pluggable range
    linux_boot.py seabios FERRY   the bzImage booted by SeaBIOS through fw_cfg
                                  and QEMU's linuxboot option ROM; its real-mode
                                  setup must print "Probing EDD"
    linux_boot.py qboot FERRY     the same through qboot, which reads the kernel
                                  from fw_cfg itself

On this CI host guest ring-0 code is emulated, so the kernel never reaches
user space: the test stops ferry once it has seen what it needs.
"""
import glob
import gzip
import lzma
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading

MEMORY_MIB = 512
HANG_LIMIT_S = 600  # a safety net for a hung kernel, not a performance limit
EARLY_CONSOLE = "console=ttyS0 earlyprintk=serial,ttyS0,115200"
FIRMWARE = {"seabios": "/usr/share/seabios/bios-256k.bin", "qboot": "/usr/share/qemu/qboot.rom"}


def find_kernel():
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels:
        sys.exit("FAILED: no /boot/vmlinuz-*-cloud-amd64; run scripts/install-deps --tests")
    return kernels[-1]


def bzimage_payload(path):
    """The compressed vmlinux inside a bzImage (boot protocol 2.08+)."""
    data = open(path, "rb").read()
    setup_sects = data[0x1F1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    return data[start:start + length]


def decompress(payload):
    if payload.startswith(b"\x02\x21\x4c\x18"):  # LZ4 legacy frame
        # The kernel build appends the uncompressed size (4 bytes) to it.
        return subprocess.run(["lz4", "-dc"], input=payload[:-4], stdout=subprocess.PIPE,
                              check=True).stdout
    if payload.startswith(b"\x1f\x8b"):
        return gzip.decompress(payload[:-4])
    if payload.startswith(b"\xfd7zXZ"):
        return lzma.decompress(payload[:-4])
    if payload.startswith(b"\x28\xb5\x2f\xfd"):
        return subprocess.run(["zstd", "-dc"], input=payload[:-4], stdout=subprocess.PIPE,
                              check=True).stdout
    sys.exit(f"FAILED: unknown payload compression {payload[:4].hex()}")


def extract_vmlinux(bzimage):
    cache = os.path.join(tempfile.gettempdir(), "ferry-" + os.path.basename(bzimage) + ".vmlinux")
    if not os.path.exists(cache):
        elf = decompress(bzimage_payload(bzimage))
        if not elf.startswith(b"\x7fELF"):
            sys.exit("FAILED: the bzImage payload is not an ELF vmlinux")
        tmp = cache + f".{os.getpid()}"
        open(tmp, "wb").write(elf)
        os.replace(tmp, cache)
    return cache


def run_until(cmd, done):
    """Run cmd; stop it (SIGTERM) when done(lines) says so."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    lines, stopped = [], threading.Event()

    def pump():
        for raw in iter(proc.stdout.readline, b""):
            lines.append(raw.decode(errors="replace").rstrip("\r\n"))
            if not stopped.is_set() and done(lines):
                stopped.set()
                proc.send_signal(signal.SIGTERM)

    reader = threading.Thread(target=pump)
    reader.start()
    try:
        status = proc.wait(timeout=HANG_LIMIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
    reader.join()
    return status, lines, stopped.is_set()


def expected_usable(memory):
    """The RAM of ferry's PC map for up to 3 GiB: (start, end inclusive).
    Linux folds the legacy hole 640K-1M into one reserved range itself, so
    only the usable ranges and the KVM pages are compared exactly."""
    return [(0x0, 0x9FBFF), (0x100000, memory - 1)]


KVM_RESERVED = (0xFEFFC000, 0xFEFFFFFF, "reserved")


E820_LINE = re.compile(r"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] (\w+)")


def e820_done(lines):
    """True once the e820 block is complete (a later line does not match)."""
    in_block = False
    for line in lines:
        if E820_LINE.search(line):
            in_block = True
        elif in_block:
            return True
    return False


def check(ok, what, problems):
    print(("ok: " if ok else "FAILED: ") + what)
    if not ok:
        problems.append(what)


def main():
    mode, ferry = sys.argv[1], sys.argv[2]
    bzimage = find_kernel()
    problems = []
    if mode == "bzimage":
        cmd = [ferry, "run", "--kernel", bzimage, "--memory", f"{MEMORY_MIB}M",
               "--cmdline", EARLY_CONSOLE + " nokaslr"]
        status, lines, stopped = run_until(cmd, lambda ls: any("KASLR disabled" in l for l in ls))
        print("\n".join(lines[-40:]))
        check(stopped, "the decompressor printed 'KASLR disabled'", problems)
    elif mode == "pvh":
        vmlinux = extract_vmlinux(bzimage)
        cmd = [ferry, "run", "--kernel", vmlinux, "--boot", "pvh", "--memory", f"{MEMORY_MIB}M",
               "--cmdline", EARLY_CONSOLE + " noxsave"]
        status, lines, stopped = run_until(
            cmd, lambda ls: any("Linux version" in l for l in ls) and e820_done(ls))
        print("\n".join(lines[-60:]))
        check(any("Linux version" in l for l in lines), "the kernel printed 'Linux version'",
              problems)
        got = [(int(m.group(1), 16), int(m.group(2), 16), m.group(3))
               for m in map(E820_LINE.search, lines) if m]
        usable = [(start, end) for start, end, kind in got if kind == "usable"]
        check(usable == expected_usable(MEMORY_MIB << 20),
              f"e820 RAM matches --memory {MEMORY_MIB}M: got {got}", problems)
        check(KVM_RESERVED in got, "e820 reserves the KVM identity-map and TSS pages", problems)
    elif mode == "acpi":
        vmlinux = extract_vmlinux(bzimage)
        cmd = [ferry, "run", "--kernel", vmlinux, "--cpus", "2", "--memory", f"{MEMORY_MIB}M",
               "--cmdline", EARLY_CONSOLE + " noxsave"]
        status, lines, stopped = run_until(cmd, lambda ls: any("smpboot: Allowing" in l for l in ls))
        print("\n".join(lines[-80:]))
        for sig in ("RSDP", "XSDT", "FACP", "DSDT", "APIC", "SRAT"):
            check(any(re.search(rf"ACPI: {sig} 0x[0-9A-F]+ [0-9A-F]+ \(v\d\d FERRY", l)
                      for l in lines), f"Linux lists the {sig} with OEM ID FERRY", problems)
        check(any(re.search(r"IOAPIC\[0\]: apic_id \d+, version \d+, address 0xfec00000", l)
                  for l in lines), "Linux found the IOAPIC in the MADT", problems)
        srat_ram = f"ACPI: SRAT: Node 0 PXM 0 [mem 0x00100000-0x{(MEMORY_MIB << 20) - 1:08x}]"
        check(any(srat_ram in l for l in lines), f"Linux read the SRAT RAM range ({srat_ram})",
              problems)
        check(any("smpboot: Allowing 2 CPUs" in l for l in lines),
              "Linux found both vCPUs in the MADT", problems)
    elif mode == "srat-hotplug":
        # 256 MiB, 4 slots, maxmem 4 GiB: the window starts at 4 GiB and holds
        # (maxmem - ram) + 1 GiB per slot, as on QEMU's PC.
        vmlinux = extract_vmlinux(bzimage)
        end = (4 << 30) + ((4 << 30) - (256 << 20)) + 4 * (1 << 30) - 1
        want = f"ACPI: SRAT: Node 0 PXM 0 [mem 0x100000000-0x{end:x}] hotplug"
        cmd = [ferry, "run", "--kernel", vmlinux, "--memory", "256M,slots=4,maxmem=4G",
               "--cmdline", EARLY_CONSOLE + " noxsave"]
        status, lines, stopped = run_until(cmd, lambda ls: any(want in l for l in ls))
        print("\n".join(l for l in lines if "SRAT" in l or "ACPI" in l))
        check(stopped, f"Linux printed '{want}'", problems)
    elif mode in ("seabios", "qboot"):
        # No earlyprintk: the setup code would write each character both to
        # the UART and through the BIOS (which SeaBIOS echoes to the serial
        # port), doubling every letter.
        cmd = [ferry, "run", "--firmware", FIRMWARE[mode], "--kernel", bzimage, "--memory",
               f"{MEMORY_MIB}M", "--cmdline", "console=ttyS0"]
        status, lines, stopped = run_until(cmd, lambda ls: any("Probing EDD" in l for l in ls))
        print("\n".join(lines[-40:]))
        check(stopped, "the kernel's real-mode setup printed 'Probing EDD'", problems)
    else:
        sys.exit(f"usage: {sys.argv[0]} bzimage|pvh|acpi|srat-hotplug|seabios|qboot FERRY")
    print("command:", " ".join(cmd), "| exit status:", status)
    check(status >= 0 or stopped, "ferry did not die from a signal", problems)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
