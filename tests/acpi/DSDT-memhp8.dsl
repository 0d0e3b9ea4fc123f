/*
 * Golden DSDT: `iasl -d` of the DSDT that ferry builds for --cpus 2
 * --memory 256M,slots=8,maxmem=4G: DSDT.dsl plus the memory-hotplug
 * controller's AML (hw/memhp.c: \_SB.MHPD, \_SB.MHPC with 8 slots,
 * \_GPE._E03).  Compared without iasl's header comment (date, path) by
 * test_memhp and tests/integration/acpi_check.py.  After an intended AML
 * change, regenerate:
 *   tests/integration/acpi_check.py --ferry build/ferry \
 *       --memory 256M,slots=8,maxmem=4G --update-golden
 */
DefinitionBlock ("", "DSDT", 2, "FERRY ", "FERRYPC ", 0x00000001)
{
    Scope (\_SB)
    {
        Device (C000)
        {
            Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
        }

        Device (C001)
        {
            Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
            Name (_UID, One)  // _UID: Unique ID
        }

        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501") /* 16550A-compatible COM Serial Port */)  // _HID: Hardware ID
            Name (_UID, One)  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                IO (Decode16,
                    0x03F8,             // Range Minimum
                    0x03F8,             // Range Maximum
                    0x00,               // Alignment
                    0x08,               // Length
                    )
                IRQNoFlags ()
                    {4}
            })
        }

        Device (FWCF)
        {
            Name (_HID, "QEMU0002")  // _HID: Hardware ID
            Name (_STA, 0x0B)  // _STA: Status
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                IO (Decode16,
                    0x0510,             // Range Minimum
                    0x0510,             // Range Maximum
                    0x01,               // Alignment
                    0x0C,               // Length
                    )
            })
        }

        Device (MHPD)
        {
            Name (_HID, EisaId ("PNP0A06") /* Generic Container Device */)  // _HID: Hardware ID
            Name (_UID, "Memory hotplug resources")  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                IO (Decode16,
                    0x0A00,             // Range Minimum
                    0x0A00,             // Range Maximum
                    0x00,               // Alignment
                    0x18,               // Length
                    )
            })
        }

        Device (MHPC)
        {
            Name (_HID, EisaId ("PNP0A06") /* Generic Container Device */)  // _HID: Hardware ID
            Name (_UID, "DIMM devices")  // _UID: Unique ID
            Name (MDNR, 0x08)
            Name (_STA, 0x0B)  // _STA: Status
            Mutex (MLCK, 0x00)
            OperationRegion (HPMR, SystemIO, 0x0A00, 0x18)
            Field (HPMR, DWordAcc, NoLock, Preserve)
            {
                MRBL,   32, 
                MRBH,   32, 
                MRLL,   32, 
                MRLH,   32, 
                MPX,    32
            }

            Field (HPMR, ByteAcc, NoLock, WriteAsZeros)
            {
                Offset (0x14), 
                MES,    1, 
                MINS,   1, 
                MRMV,   1, 
                MEJ,    1
            }

            Field (HPMR, DWordAcc, NoLock, Preserve)
            {
                MSEL,   32, 
                MOEV,   32, 
                MOSC,   32
            }

            Method (MTFY, 2, NotSerialized)
            {
                If ((Arg0 == Zero))
                {
                    Notify (MP00, Arg1)
                }

                If ((Arg0 == One))
                {
                    Notify (MP01, Arg1)
                }

                If ((Arg0 == 0x02))
                {
                    Notify (MP02, Arg1)
                }

                If ((Arg0 == 0x03))
                {
                    Notify (MP03, Arg1)
                }

                If ((Arg0 == 0x04))
                {
                    Notify (MP04, Arg1)
                }

                If ((Arg0 == 0x05))
                {
                    Notify (MP05, Arg1)
                }

                If ((Arg0 == 0x06))
                {
                    Notify (MP06, Arg1)
                }

                If ((Arg0 == 0x07))
                {
                    Notify (MP07, Arg1)
                }
            }

            Method (MSCN, 0, Serialized)
            {
                Acquire (MLCK, 0xFFFF)
                Local0 = Zero
                While ((Local0 < MDNR))
                {
                    MSEL = Local0
                    If ((MINS == One))
                    {
                        MTFY (Local0, One)
                        MINS = One
                    }
                    ElseIf ((MRMV == One))
                    {
                        MTFY (Local0, 0x03)
                        MRMV = One
                    }

                    Local0++
                }

                Release (MLCK)
                Return (One)
            }

            Method (MRST, 1, Serialized)
            {
                Local0 = Zero
                Acquire (MLCK, 0xFFFF)
                MSEL = ToInteger (Arg0)
                If ((MES == One))
                {
                    Local0 = 0x0F
                }

                Release (MLCK)
                Return (Local0)
            }

            Method (MCRS, 1, Serialized)
            {
                Acquire (MLCK, 0xFFFF)
                MSEL = ToInteger (Arg0)
                Name (MR64, ResourceTemplate ()
                {
                    QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
                        0x0000000000000000, // Granularity
                        0x0000000000000000, // Range Minimum
                        0xFFFFFFFFFFFFFFFE, // Range Maximum
                        0x0000000000000000, // Translation Offset
                        0xFFFFFFFFFFFFFFFF, // Length
                        ,, _Y00, AddressRangeMemory, TypeStatic)
                })
                CreateQWordField (MR64, \_SB.MHPC.MCRS._Y00._MIN, MMIN)  // _MIN: Minimum Base Address
                CreateQWordField (MR64, \_SB.MHPC.MCRS._Y00._MAX, MMAX)  // _MAX: Maximum Base Address
                CreateQWordField (MR64, \_SB.MHPC.MCRS._Y00._LEN, MLEN)  // _LEN: Length
                MMIN = ((MRBH << 0x20) | MRBL) /* \_SB_.MHPC.MRBL */
                MLEN = ((MRLH << 0x20) | MRLL) /* \_SB_.MHPC.MRLL */
                MMAX = ((MMIN + MLEN) - One)
                Release (MLCK)
                Return (MR64) /* \_SB_.MHPC.MCRS.MR64 */
            }

            Method (MPXM, 1, Serialized)
            {
                Acquire (MLCK, 0xFFFF)
                MSEL = ToInteger (Arg0)
                Local0 = MPX /* \_SB_.MHPC.MPX_ */
                Release (MLCK)
                Return (Local0)
            }

            Method (MOST, 4, Serialized)
            {
                Acquire (MLCK, 0xFFFF)
                MSEL = ToInteger (Arg0)
                MOEV = Arg1
                MOSC = Arg2
                Release (MLCK)
            }

            Method (MEJ0, 2, Serialized)
            {
                Acquire (MLCK, 0xFFFF)
                MSEL = ToInteger (Arg0)
                MEJ = One
                Release (MLCK)
            }

            Device (MP00)
            {
                Name (_UID, "0x00")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP01)
            {
                Name (_UID, "0x01")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP02)
            {
                Name (_UID, "0x02")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP03)
            {
                Name (_UID, "0x03")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP04)
            {
                Name (_UID, "0x04")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP05)
            {
                Name (_UID, "0x05")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP06)
            {
                Name (_UID, "0x06")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }

            Device (MP07)
            {
                Name (_UID, "0x07")  // _UID: Unique ID
                Name (_HID, EisaId ("PNP0C80") /* Memory Device */)  // _HID: Hardware ID
                Method (_CRS, 0, NotSerialized)  // _CRS: Current Resource Settings
                {
                    Return (MCRS (_UID))
                }

                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (MRST (_UID))
                }

                Method (_PXM, 0, NotSerialized)  // _PXM: Device Proximity
                {
                    Return (MPXM (_UID))
                }

                Method (_OST, 3, NotSerialized)  // _OST: OSPM Status Indication
                {
                    MOST (_UID, Arg0, Arg1, Arg2)
                }

                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    MEJ0 (_UID, Arg0)
                }
            }
        }
    }

    Name (\_S5, Package (0x04)  // _S5_: S5 System State
    {
        0x05, 
        Zero, 
        Zero, 
        Zero
    })
    Scope (\_GPE)
    {
        Name (_HID, "ACPI0006" /* GPE Block Device */)  // _HID: Hardware ID
        Method (_E03, 0, NotSerialized)  // _Exx: Edge-Triggered GPE, xx=0x00-0xFF
        {
            \_SB.MHPC.MSCN ()
        }
    }
}

