#!/bin/bash
# Boots every test of the test guest under QEMU/KVM through multiboot and PVH
# and checks QEMU's exit status. Usage: qemu-matrix.sh BUILD_DIR
# (BUILD_DIR/tests/guest holds testguest.elf and testguest-pvh.elf).
#
# Exit statuses: isa-debug-exit gives (code << 1) | 1, so PASS = 1, FAIL = 3;
# with -no-reboot an i8042 reset or a triple fault ends QEMU with 0.
set -u
dir=${1:?usage: $0 BUILD_DIR}/tests/guest
failures=0

# INPUT=text: what the serial console reads (the migrate test's 'M'); such a
# run uses -serial stdio, as -nographic's mux passes no piped input on here.
run() { # protocol expected-status expected-line qemu-args... -- cmdline
    local proto=$1 want=$2 line=$3; shift 3
    local kernel=$dir/testguest.elf
    [ "$proto" = pvh ] && kernel=$dir/testguest-pvh.elf
    local args=() cmdline
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    cmdline=$2
    local out status
    local console=(-nographic)
    [ -n "${INPUT:-}" ] && console=(-display none -serial stdio)
    local qemu=(timeout 120 qemu-system-x86_64 -enable-kvm -M pc -m 1G -smp 2 "${console[@]}"
          -device isa-debug-exit,iobase=0xf4,iosize=4 "${args[@]}"
          -kernel "$kernel" -append "$cmdline")
    if [ -n "${INPUT:-}" ]; then
        out=$(printf %s "$INPUT" | "${qemu[@]}" 2>&1)
    else
        out=$("${qemu[@]}" 2>&1)
    fi
    status=$?
    if [ "$status" = "$want" ] && grep -aq "$line" <<<"$out"; then
        echo "ok   $proto $cmdline (status $status)"
    else
        echo "FAIL $proto $cmdline (status $status, want $want and '$line')"
        sed 's/^/     | /' <<<"$out" | tail -5
        failures=$((failures + 1))
    fi
}

for proto in multiboot pvh; do
    run $proto 1 "booted via $proto"  -no-reboot -- "test=hello"
    run $proto 1 "PASS: mem"          -no-reboot -- "test=mem memory=1024"
    run $proto 1 "PASS: smp"          -no-reboot -smp 4 -- "test=smp cpus=4"
    run $proto 3 "FAIL: smp"          -no-reboot -smp 4 -- "test=smp cpus=3"
    run $proto 1 "PASS: timer"        -no-reboot -- "test=timer"
    run $proto 0 "reset: resetting"   -no-reboot -- "test=reset"
    run $proto 1 "PASS: reboot"       -- "test=reboot"
    run $proto 0 "triple fault next"  -no-reboot -- "test=crash"
    run $proto 0 "demo: done"         -no-reboot -- "test=demo"
    run $proto 3 "FAIL: nope: unknown test" -no-reboot -- "test=nope"
    run $proto 1 "PASS: fwcfg"        -no-reboot -- "test=fwcfg cpus=2"
    run $proto 3 "FAIL: fwcfg: file"  -no-reboot -- "test=fwcfg files=etc/e820,etc/nope"
    # QEMU builds an SRAT only with maxmem (or NUMA); its OEM ID is "BOCHS ".
    run $proto 1 "PASS: acpi"         -no-reboot -m 1G,slots=2,maxmem=2G -- "test=acpi cpus=2 oem=BOCHS"
    run $proto 1 "PASS: acpi"         -no-reboot -smp 3 -- "test=acpi cpus=3 srat=0"
    run $proto 3 "FAIL: acpi: MADT"   -no-reboot -- "test=acpi cpus=3 srat=0"
    run $proto 3 "FAIL: acpi: RSDP has OEM" -no-reboot -- "test=acpi srat=0 oem=FERRY"
    run $proto 0 "writing 2000 to PM1a_CNT" -no-reboot -- "test=poweroff"
    # migrate without a migration: 'M' waits in the UART from the start.
    INPUT=M run $proto 1 "PASS: migrate" -no-reboot -- "test=migrate mib=64 passes=3 cpus=2"
    INPUT=M run $proto 3 "FAIL: migrate: mib=2000 does not fit" -no-reboot -- "test=migrate mib=2000"
done
run pvh 1 "PASS: mem" -no-reboot -m 6G -- "test=mem memory=6144"
run multiboot 3 "FAIL: hotplug: DIMMs plugged: 0 of 1" -no-reboot -m 256M,slots=4,maxmem=4G \
    -- "test=hotplug dimms=1 timeout=2"

# Memory hotplug needs QMP: qemu-hotplug.py plugs, unplugs and replugs DIMMs.
hotplug() { # kernel qemu-hotplug.py-args...
    local kernel=$dir/$1; shift
    if python3 "$(dirname "$0")/qemu-hotplug.py" --quiet "$kernel" "$@" >/tmp/qemu-hotplug.$$ 2>&1; then
        echo "ok   hotplug $* ($(grep -o 'latency ms:.*' /tmp/qemu-hotplug.$$))"
    else
        echo "FAIL hotplug $*"
        sed 's/^/     | /' /tmp/qemu-hotplug.$$ | tail -5
        failures=$((failures + 1))
    fi
    rm -f /tmp/qemu-hotplug.$$
}
hotplug testguest.elf --scenario hotplug
hotplug testguest-pvh.elf --scenario replug
hotplug testguest.elf --scenario unplug

# A real QEMU -> QEMU live migration of the migrate test (the handshake's reference run).
if python3 "$(dirname "$0")/qemu-migrate.py" "$dir/testguest.elf" >/tmp/qemu-migrate.$$ 2>&1; then
    echo "ok   migrate: $(grep -o 'migration completed.*' /tmp/qemu-migrate.$$)"
else
    echo "FAIL migrate (qemu-migrate.py)"
    sed 's/^/     | /' /tmp/qemu-migrate.$$ | tail -8
    failures=$((failures + 1))
fi
rm -f /tmp/qemu-migrate.$$
exit $((failures > 0))
