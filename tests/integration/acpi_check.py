#!/usr/bin/env python3
"""Check ferry's ACPI tables with ACPICA's own tools.

    acpi_check.py --dir DIR                       tables dumped by `ferry run --dump-acpi DIR`
    acpi_check.py --ferry build/ferry [--cpus N] [--memory SIZE] [-- extra ferry args]
    acpi_check.py --dir DIR --update-golden      rewrite tests/acpi/DSDT.dsl from DIR
    acpi_check.py --ferry build/ferry --memory 256M,slots=8,maxmem=4G
    acpi_check.py --dir DIR --memhp-slots 8 [--hotplug-window BASE,SIZE]

Checks:
  * `iasl -d` on every DIR/*.dat: exit 0, a .dsl written, and no error or
    warning in its output or in the disassembly.  The RSDP is checked here
    instead (signature, revision, both checksums): iasl 20200925 does not
    disassemble a binary RSDP.
  * every table's checksum, and the RSDT and XSDT listing the same tables.
  * `acpiexec` in batch mode evaluates \\_S5 (a 4-element package whose
    first element is the S5 SLP_TYP) and COM1's _CRS, once on the AML
    tables alone (with acpiexec's own FADT) and once with ferry's FADT.
  * the DSDT disassembly equals tests/acpi/DSDT.dsl from the DefinitionBlock
    line on (the header comment holds a date and a path).  The golden file
    describes --cpus 2 --memory 256M; pass --no-golden for other configs.
  * memory hotplug, when --memory carries slots=N (or with --memhp-slots N):
    \\_SB.MHPC has MDNR = N and devices MP00..MP<N-1>; acpiexec runs the
    scan \\_SB.MHPC.MSCN against its simulated register block (a helper SSDT
    sets the insert bit first), which must send a Device Check to every slot,
    and each slot method (_STA, _CRS, _PXM, _OST, _EJ0) and \\_GPE._E03
    without an error; the SRAT has exactly one enabled, hot-pluggable memory
    entry, over the window the machine computes (base: 4 GiB, or past the RAM
    above 4 GiB rounded up to 1 GiB; size: maxmem - memory + 1 GiB a slot).
    The golden file is then tests/acpi/DSDT-memhp<N>.dsl.  Without slots:
    no MHPC and no hot-pluggable SRAT entry.

Exit status 0 when everything passed, 1 otherwise.  Needs acpica-tools.
"""
import argparse
import difflib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, '..', 'acpi')
GOLDEN = os.path.join(GOLDEN_DIR, 'DSDT.dsl')
GOLDEN_HEADER = """\
/*
 * Golden DSDT: `iasl -d` of the DSDT that ferry builds for --cpus 2 --memory 256M
 * (PM 0x600, GPE0 0xafe0, SCI 9, reset 0xcf9/0x06, S5 = 5, COM1 0x3f8 IRQ 4).
 * Compared without iasl's header comment (date, path) by test_acpi_build
 * and tests/integration/acpi_check.py.  After an intended AML change, regenerate:
 *   tests/integration/acpi_check.py --ferry build/ferry --update-golden
 */
"""
GOLDEN_HEADER_MEMHP = """\
/*
 * Golden DSDT: `iasl -d` of the DSDT that ferry builds for --cpus 2
 * --memory 256M,slots={slots},maxmem=4G: DSDT.dsl plus the memory-hotplug
 * controller's AML (hw/memhp.c: \\_SB.MHPD, \\_SB.MHPC with {slots} slots,
 * \\_GPE._E03).  Compared without iasl's header comment (date, path) by
 * test_memhp and tests/integration/acpi_check.py.  After an intended AML
 * change, regenerate:
 *   tests/integration/acpi_check.py --ferry build/ferry \\
 *       --memory 256M,slots={slots},maxmem=4G --update-golden
 */
"""
GiB = 1 << 30
RAM_BELOW_4G_MAX = 3 * GiB  # ferry's PC: RAM above this goes to 4 GiB

# A helper SSDT for acpiexec, which simulates SystemIO regions as plain
# memory: it sets the bits a plugged DIMM shows (enabled, insert pending,
# base high word 1, size 128 MiB) and runs the scan.  In the simulation every
# slot reads the same bytes, so every slot gets a Device Check.
MEMHP_TEST_SSDT = """\
DefinitionBlock ("", "SSDT", 2, "FERRY", "MEMHPTST", 1)
{
    External (\\_SB.MHPC.MES, FieldUnitObj)
    External (\\_SB.MHPC.MINS, FieldUnitObj)
    External (\\_SB.MHPC.MRBH, FieldUnitObj)
    External (\\_SB.MHPC.MRLL, FieldUnitObj)
    External (\\_SB.MHPC.MPX, FieldUnitObj)
    External (\\_SB.MHPC.MSCN, MethodObj)
    Method (\\MHTI, 0, NotSerialized)
    {
        \\_SB.MHPC.MRBH = One
        \\_SB.MHPC.MRLL = 0x08000000
        \\_SB.MHPC.MPX = Zero
        \\_SB.MHPC.MINS = One
        Local0 = \\_SB.MHPC.MSCN ()
        // acpiexec runs each Notify's handler on a thread of its own and
        // does not wait for them before exiting: let them print first
        // (a loaded machine once lost one, and its allocation with it).
        Sleep (250)
        Return (Local0)
    }
    Method (\\MHTE, 0, NotSerialized)
    {
        \\_SB.MHPC.MES = One
        Return (One)
    }
}
"""

# Lines iasl and acpiexec print that mean trouble.
PROBLEM = re.compile(r'\b(error|warning)s?\b|\*\*\*\*|AE_[A-Z_]+', re.IGNORECASE)
# iasl's closing summary when nothing went wrong, e.g. "Compilation complete. 0 Errors".
SUMMARY_OK = re.compile(r'\b0 Errors?,\s+0 Warnings?', re.IGNORECASE)
# With ferry's FADT, acpiexec's built-in self-tests touch PM2_CNT (ARB_DIS)
# and GPE numbers outside a 4-byte GPE0 block; both are absent on ferry's PC
# (and on QEMU's), and real ACPICA code tolerates that.  Only these lines are
# expected in the run with the FADT.
ACPIEXEC_SELFTEST = re.compile(
    r'^Unexpected AE_(BAD_ADDRESS|BAD_PARAMETER) from '
    r'(Acpi(Read|Write)BitRegister|AcpiInstallGpeHandler|AcpiEnableGpe|AcpiDisableGpe)'
    r' \(aetests-\d+\)$')


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
            print(f'FAIL: {what}', file=sys.stderr)
        return ok


def run(argv, cwd=None, timeout=120):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors='replace', timeout=timeout)
    return p.returncode, p.stdout


def problems(text, allowed=None):
    bad = []
    for line in text.splitlines():
        line = line.strip()
        if not line or SUMMARY_OK.search(line):
            continue
        if allowed and allowed.match(line):
            continue
        if PROBLEM.search(line):
            bad.append(line)
    return bad


def parse_size(text):
    """'256M', '4G', '1.5G', '0x100000000', or a bare number of MiB (as ferry)."""
    text = text.strip()
    if text.lower().startswith('0x'):
        return int(text, 16)
    units = {'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}
    if text and text[-1].lower() in units:
        return int(float(text[:-1]) * units[text[-1].lower()])
    return int(float(text) * (1 << 20))


def memory_layout(memory):
    """(RAM size, slots, maxmem) from a --memory value like 256M,slots=8,maxmem=4G."""
    parts = memory.split(',')
    ram = parse_size(parts[0])
    opts = dict(p.split('=', 1) for p in parts[1:] if '=' in p)
    slots = int(opts.get('slots', '0'))
    maxmem = parse_size(opts['maxmem']) if 'maxmem' in opts else ram
    return ram, slots, maxmem


def hotplug_window(ram, slots, maxmem):
    """The window the machine reserves, as QEMU's PC computes it."""
    above_4g = max(0, ram - RAM_BELOW_4G_MAX)
    base = -(-(4 * GiB + above_4g) // GiB) * GiB
    return base, (maxmem - ram) + slots * GiB


def checksum_ok(data):
    return sum(data) % 256 == 0


def definition_block(dsl):
    """The ASL from the line that starts with DefinitionBlock on."""
    m = re.search(r'^DefinitionBlock', dsl, re.MULTILINE)
    return dsl[m.start():] if m else dsl


def read_tables(directory):
    tables = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith('.dat'):
            with open(os.path.join(directory, name), 'rb') as f:
                tables[name[:-4]] = f.read()
    return tables


def check_structure(c, tables):
    c.check('RSDP' in tables and 'DSDT' in tables and 'FACP' in tables,
            'RSDP.dat, DSDT.dat and FACP.dat are present')
    rsdp = tables.get('RSDP', b'')
    if c.check(len(rsdp) == 36 and rsdp[:8] == b'RSD PTR ', 'RSDP: 36 bytes, "RSD PTR "'):
        c.check(rsdp[15] == 2, 'RSDP revision 2')
        c.check(checksum_ok(rsdp[:20]), 'RSDP checksum (first 20 bytes)')
        c.check(checksum_ok(rsdp), 'RSDP extended checksum')
        c.check(struct.unpack_from('<I', rsdp, 20)[0] == 36, 'RSDP length field 36')
    for sig, data in tables.items():
        if sig in ('RSDP', 'FACS'):
            continue
        c.check(len(data) >= 36 and data[:4] == sig.encode()
                and struct.unpack_from('<I', data, 4)[0] == len(data),
                f'{sig}: signature and length match the file')
        c.check(checksum_ok(data), f'{sig}: checksum')
    if 'RSDT' in tables and 'XSDT' in tables:
        rsdt = tables['RSDT'][36:]
        xsdt = tables['XSDT'][36:]
        r = [struct.unpack_from('<I', rsdt, i)[0] for i in range(0, len(rsdt), 4)]
        x = [struct.unpack_from('<Q', xsdt, i)[0] for i in range(0, len(xsdt), 8)]
        c.check(r == x and len(r) > 0, f'RSDT and XSDT list the same tables ({len(r)})')
        rsdp = tables.get('RSDP', b'')
        if len(rsdp) == 36:
            c.check(struct.unpack_from('<I', rsdp, 16)[0] != 0
                    and struct.unpack_from('<Q', rsdp, 24)[0] != 0,
                    'RSDP points at an RSDT and an XSDT')


def check_iasl(c, work, tables):
    for sig in tables:
        if sig == 'RSDP':
            continue
        status, out = run(['iasl', '-d', f'{sig}.dat'], cwd=work)
        dsl_path = os.path.join(work, f'{sig}.dsl')
        c.check(status == 0 and os.path.exists(dsl_path), f'iasl -d {sig}.dat: exit {status}')
        bad = problems(out)
        c.check(not bad, f'iasl -d {sig}.dat prints no error or warning: {bad}')
        if os.path.exists(dsl_path):
            with open(dsl_path) as f:
                bad = problems(f.read())
            c.check(not bad, f'{sig}.dsl has no error or warning: {bad}')


def check_acpiexec(c, work, tables, s5_slp_typ):
    aml = ['DSDT.dat'] + [f'{s}.dat' for s in tables if s.startswith('SSDT')]
    others = [f'{s}.dat' for s in tables if s in ('APIC', 'SRAT')]
    batch = 'evaluate \\_S5; evaluate \\_SB.COM1._CRS'
    runs = [('own FADT', aml + others, None), ('ferry FADT', ['FACP.dat'] + aml + others,
                                                  ACPIEXEC_SELFTEST)]
    for label, files, allowed in runs:
        status, out = run(['acpiexec', '-b', batch] + files, cwd=work)
        c.check(status == 0, f'acpiexec ({label}): exit {status}')
        bad = problems(out, allowed)
        c.check(not bad, f'acpiexec ({label}) prints no error or warning: {bad}')
        m = re.search(r'\[Package\] Contains (\d+) Elements:\s*\n\s*\[Integer\] = ([0-9A-Fa-f]+)',
                      out)
        c.check(m is not None and int(m.group(1)) == 4 and int(m.group(2), 16) == s5_slp_typ,
                f'acpiexec ({label}): \\_S5 is a 4-element package starting with {s5_slp_typ}')
        c.check(re.search(r'\[Buffer\] Length 0D', out) is not None,
                f'acpiexec ({label}): COM1._CRS is a 13-byte buffer')
        if c.failures:
            print(out, file=sys.stderr)


def srat_memory_entries(srat):
    """(base, length, node, flags) of each Memory Affinity entry."""
    entries = []
    at = 48
    while at + 2 <= len(srat):
        kind, length = srat[at], srat[at + 1]
        if length < 2:
            break
        if kind == 1 and length == 40 and at + 40 <= len(srat):
            node, = struct.unpack_from('<I', srat, at + 2)
            base, size = struct.unpack_from('<QQ', srat, at + 8)
            flags, = struct.unpack_from('<I', srat, at + 28)
            entries.append((base, size, node, flags))
        at += length
    return entries


def check_memhp(c, work, tables, slots, window):
    """The memory-hotplug AML (with acpiexec) and the SRAT window entry."""
    with open(os.path.join(work, 'DSDT.dsl')) as f:
        dsl = f.read()
    hotplug = [e for e in srat_memory_entries(tables.get('SRAT', b'')) if e[3] & 2]
    if not slots:
        c.check('Device (MHPC)' not in dsl, 'no memory slots: the DSDT has no MHPC')
        c.check(not hotplug, f'no memory slots: no hot-pluggable SRAT entry ({hotplug})')
        return

    c.check(len(hotplug) == 1, f'SRAT: one hot-pluggable memory entry ({hotplug})')
    if len(hotplug) == 1:
        base, size, node, flags = hotplug[0]
        c.check(flags == 3 and node == 0, f'SRAT: window entry enabled, hot-pluggable, node 0 '
                f'(flags {flags:#x}, node {node})')
        if window:
            c.check((base, size) == window, f'SRAT: window {base:#x}+{size:#x} is '
                    f'{window[0]:#x}+{window[1]:#x}')
    for name in ['MHPD', 'MHPC'] + [f'MP{i:02X}' for i in range(slots)]:
        c.check(f'Device ({name})' in dsl, f'DSDT has Device ({name})')
    c.check(f'Device (MP{slots:02X})' not in dsl, f'DSDT has no Device (MP{slots:02X})')

    with open(os.path.join(work, 'memhp-test.asl'), 'w') as f:
        f.write(MEMHP_TEST_SSDT)
    status, out = run(['iasl', 'memhp-test.asl'], cwd=work)
    if not c.check(status == 0, f'iasl memhp-test.asl (helper SSDT): exit {status}'):
        print(out, file=sys.stderr)
        return

    last = slots - 1
    batch = '; '.join([
        'evaluate \\_SB.MHPC.MDNR',
        'evaluate \\MHTI',  # insert pending: the scan notifies every slot
        'evaluate \\MHTE',
        f'evaluate \\_SB.MHPC.MP{last:02X}._STA',
        'evaluate \\_SB.MHPC.MP00._CRS',
        'evaluate \\_SB.MHPC.MP00._PXM',
        'evaluate \\_SB.MHPC.MP00._OST 1 0 (00)',
        'evaluate \\_SB.MHPC.MP00._EJ0 1',
        'evaluate \\_GPE._E03',
    ])
    aml = ['DSDT.dat', 'memhp-test.aml']
    runs = [('own FADT', aml, None), ('ferry FADT', ['FACP.dat'] + aml, ACPIEXEC_SELFTEST)]
    for label, files, allowed in runs:
        failures = len(c.failures)
        status, out = run(['acpiexec', '-b', batch] + files, cwd=work)
        c.check(status == 0, f'memhp acpiexec ({label}): exit {status}')
        bad = problems(out, allowed)
        c.check(not bad, f'memhp acpiexec ({label}) prints no error or warning: {bad}')
        m = re.search(r'Evaluation of \\_SB\.MHPC\.MDNR returned.*\n\s*\[Integer\] = ([0-9A-Fa-f]+)',
                      out)
        c.check(m is not None and int(m.group(1), 16) == slots,
                f'memhp acpiexec ({label}): MDNR is {slots}')
        notified = re.findall(r'Notify on \[MP([0-9A-F]{2})\].*Value 0x01', out)
        c.check(sorted(int(n, 16) for n in notified) == list(range(slots)),
                f'memhp acpiexec ({label}): MSCN sends a Device Check to MP00..MP{last:02X} '
                f'({notified})')
        m = re.search(r'Evaluation of \\_SB\.MHPC\.MP[0-9A-F]{2}\._STA returned.*\n'
                      r'\s*\[Integer\] = ([0-9A-Fa-f]+)', out)
        c.check(m is not None and int(m.group(1), 16) == 0x0F,
                f'memhp acpiexec ({label}): _STA of an enabled slot is 0x0F')
        m = re.search(r'Evaluation of \\_SB\.MHPC\.MP00\._CRS returned.*\n'
                      r'\s*\[Buffer\] Length ([0-9A-Fa-f]+)', out)
        c.check(m is not None and int(m.group(1), 16) == 0x30,
                f'memhp acpiexec ({label}): _CRS is one QWordMemory descriptor (48 bytes)')
        if len(c.failures) > failures:
            print(out, file=sys.stderr)


def check_golden(c, work, golden):
    with open(os.path.join(work, 'DSDT.dsl')) as f:
        got = definition_block(f.read())
    if not c.check(os.path.exists(golden), f'golden file {os.path.relpath(golden)} exists '
                   '(else --no-golden, or --update-golden to create it)'):
        return
    with open(golden) as f:
        want = definition_block(f.read())
    if not c.check(got == want, f'DSDT disassembly equals {os.path.relpath(golden)}'):
        sys.stderr.writelines(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), 'golden', 'built'))


def dump_with_ferry(args, directory):
    argv = [args.ferry, 'run', '--dump-acpi', directory, '--cpus', str(args.cpus),
            '--memory', args.memory] + args.extra
    status, out = run(argv, timeout=600)
    if status != 0:
        sys.exit(f'acpi_check: {" ".join(argv)} exited {status}:\n{out}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--dir', help='directory of dumped tables (*.dat)')
    src.add_argument('--ferry', help='ferry binary to dump the tables with')
    ap.add_argument('--cpus', type=int, default=2)
    ap.add_argument('--memory', default='256M')
    ap.add_argument('--s5', type=int, default=5, help='expected SLP_TYP in \\_S5')
    ap.add_argument('--memhp-slots', type=int, default=None,
                    help='memory slots to expect (default: slots= in --memory, else 0)')
    ap.add_argument('--hotplug-window', default=None, metavar='BASE,SIZE',
                    help='expected SRAT hotplug window (default: computed from --memory)')
    ap.add_argument('--golden', default=None,
                    help='golden DSDT (default: tests/acpi/DSDT.dsl, or DSDT-memhp<N>.dsl)')
    ap.add_argument('--no-golden', action='store_true')
    ap.add_argument('--update-golden', action='store_true')
    ap.add_argument('extra', nargs='*', help='more ferry arguments (after --)')
    args = ap.parse_args()

    ram, slots, maxmem = memory_layout(args.memory)
    window = hotplug_window(ram, slots, maxmem) if slots else None
    if args.memhp_slots is not None:
        slots = args.memhp_slots
    if args.hotplug_window:
        window = tuple(parse_size(v) for v in args.hotplug_window.split(','))
    if args.golden is None:
        args.golden = os.path.join(GOLDEN_DIR, f'DSDT-memhp{slots}.dsl') if slots else GOLDEN

    for tool in ('iasl', 'acpiexec'):
        if not shutil.which(tool):
            sys.exit(f'acpi_check: {tool} not found (apt-get install acpica-tools)')

    with tempfile.TemporaryDirectory(prefix='ferry-acpi-check-') as tmp:
        work = os.path.join(tmp, 'tables')
        if args.ferry:
            dump_with_ferry(args, work)
        else:
            shutil.copytree(args.dir, work)  # iasl writes .dsl files beside its input
        tables = read_tables(work)
        c = Checker()
        check_structure(c, tables)
        check_iasl(c, work, tables)
        check_acpiexec(c, work, tables, args.s5)
        check_memhp(c, work, tables, slots, window)
        if args.update_golden:
            with open(os.path.join(work, 'DSDT.dsl')) as f:
                body = definition_block(f.read())
            header = GOLDEN_HEADER_MEMHP.format(slots=slots) if slots else GOLDEN_HEADER
            with open(args.golden, 'w') as f:
                f.write(header + body)
            print(f'acpi_check: wrote {os.path.relpath(args.golden)}')
        elif not args.no_golden:
            check_golden(c, work, args.golden)

    if c.failures:
        print(f'acpi_check: {len(c.failures)} failed, {c.passed} passed', file=sys.stderr)
        return 1
    print(f'acpi_check: all {c.passed} checks passed ({len(tables)} tables)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
