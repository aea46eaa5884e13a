"""The ctypes sg_io_hdr must match the C header byte for byte: a wrong offset would make the
kernel read a garbage pointer, so we ask the compiler instead of trusting the reference."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from burnd.scsi import sgio
from burnd.scsi.transport import Direction

FIELDS = [name for name, _ in sgio.SgIoHdr._fields_]

CONSTANTS = {
    "SG_IO": sgio.SG_IO,
    "SG_GET_VERSION_NUM": sgio.SG_GET_VERSION_NUM,
    "SG_DXFER_NONE": Direction.NONE,
    "SG_DXFER_TO_DEV": Direction.TO_DEVICE,
    "SG_DXFER_FROM_DEV": Direction.FROM_DEVICE,
}


def _c_source() -> str:
    lines = [
        "#include <stdio.h>",
        "#include <stddef.h>",
        "#include <scsi/sg.h>",
        "int main(void) {",
        '  printf("sizeof %zu %zu\\n", sizeof(sg_io_hdr_t), _Alignof(sg_io_hdr_t));',
    ]
    for name in FIELDS:
        lines.append(
            f'  printf("field {name} %zu %zu\\n", offsetof(sg_io_hdr_t, {name}), '
            f"sizeof(((sg_io_hdr_t *)0)->{name}));"
        )
    for name in CONSTANTS:
        lines.append(f'  printf("const {name} %ld\\n", (long)({name}));')
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, ...]]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (deps/apt/base.txt lists it)")
    work: Path = tmp_path_factory.mktemp("sglayout")
    (work / "layout.c").write_text(_c_source())
    subprocess.run(
        ["gcc", "-Wall", "-Werror", "-o", str(work / "layout"), str(work / "layout.c")],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([str(work / "layout")], check=True, capture_output=True, text=True)
    table: dict[str, tuple[int, ...]] = {}
    for line in out.stdout.splitlines():
        kind, *rest = line.split()
        if kind == "sizeof":
            table["sizeof"] = tuple(int(v) for v in rest)
        else:
            table[f"{kind}:{rest[0]}"] = tuple(int(v) for v in rest[1:])
    return table


def test_struct_size_and_alignment_match_c(c_layout: dict[str, tuple[int, ...]]) -> None:
    assert c_layout["sizeof"] == (ctypes.sizeof(sgio.SgIoHdr), ctypes.alignment(sgio.SgIoHdr))


@pytest.mark.parametrize("name", FIELDS)
def test_field_offset_and_size_match_c(c_layout: dict[str, tuple[int, ...]], name: str) -> None:
    descriptor = getattr(sgio.SgIoHdr, name)
    assert c_layout[f"field:{name}"] == (descriptor.offset, descriptor.size)


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_ioctl_and_direction_constants_match_c(
    c_layout: dict[str, tuple[int, ...]], name: str
) -> None:
    assert c_layout[f"const:{name}"] == (int(CONSTANTS[name]),)


def test_x86_64_layout_is_the_documented_88_bytes() -> None:
    """The reference table (mmc.md 1.2) gives these for LP64; the C check above is the truth,
    this pins the few offsets whose padding is easy to get wrong."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        pytest.skip("not an LP64 platform")
    assert ctypes.sizeof(sgio.SgIoHdr) == 88
    assert sgio.SgIoHdr.dxferp.offset == 16
    assert sgio.SgIoHdr.usr_ptr.offset == 56
    assert sgio.SgIoHdr.status.offset == 64
    assert sgio.SgIoHdr.info.offset == 80
