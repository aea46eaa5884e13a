"""VirtualBurner: a software MMC drive behind the same Transport interface as SG_IO.

``execute`` does what a drive's firmware does before a command reaches the medium: CDB length
check, unit attention, busy/not-ready gating, fault injection; then it dispatches to
:mod:`burnd.emu.commands`. Every SCSI outcome is a :class:`CommandResult`; only a "disappeared"
drive raises (``DeviceError``, as SG_IO's ENODEV would). One lock makes the object safe for a
writer thread plus readers on other threads.
"""

from __future__ import annotations

import os
import threading
import time
import zlib

from burnd.emu import commands
from burnd.emu import responses as r
from burnd.emu.backing import BLOCK, Backing, BackingError
from burnd.emu.faults import FaultPlan
from burnd.emu.kinds import MediumKind, Recording, kind_by_name
from burnd.emu.media import Disc
from burnd.emu.state import EVENT_EJECT_REQUEST, DriveState
from burnd.errors import DeviceError
from burnd.scsi.transport import CHECK_CONDITION, GOOD, Buffer, CommandResult, Direction

_EMPTY = memoryview(bytearray())
# command_log keeps at most this many opcodes (the oldest half is dropped beyond it), so a
# long-lived virtual burner in the daemon does not grow without bound.
COMMAND_LOG_LIMIT = 1 << 18
# Commands a non-MMC device (peripheral_type != 5) answers; it rejects the rest like a disk.
_NON_MMC = frozenset({0x00, 0x03, 0x12})


# CDB size by the opcode's group code (SPC); vendor/reserved groups are absent.
_GROUP_LENGTH = {0: 6, 1: 10, 2: 10, 4: 16, 5: 12}


class VirtualBurner:
    """A virtual optical burner holding one medium (or none).

    ``backing`` is the path of the disc's block file (created if missing; an existing one with
    its state sidecar restores that disc, whose stored kind then wins over ``media``).
    ``ready_delay`` is how long a newly loaded medium reports "becoming ready";
    ``busy_seconds`` how long Immed BLANK/FORMAT/CLOSE keep the drive busy.
    """

    def __init__(
        self,
        media: str | None = "bd-r",
        backing: str | None = None,
        capacity: int | None = None,
        name: str = "vburner0",
        faults: FaultPlan | None = None,
        peripheral_type: int = 5,
        vendor: str = "BURND",
        model: str = "Virtual Burner",
        revision: str = "1.0",
        serial: str | None = None,
        ready_delay: float = 0.0,
        busy_seconds: float = 0.25,
        read_only_image: str | None = None,
    ) -> None:
        self._name = name
        self._lock = threading.RLock()
        self._faults = faults if faults is not None else FaultPlan()
        self._gone = False
        self._closed = False
        self._ready_delay = ready_delay
        self.command_log: list[int] = []
        self._state = DriveState(
            serial=serial or f"VB{zlib.crc32(name.encode()):010d}",
            vendor=vendor,
            model=model,
            revision=revision,
            peripheral_type=peripheral_type,
            busy_seconds=busy_seconds,
        )
        if media is not None:
            self._attach(media, backing, capacity, read_only_image)
            self._state.loaded = True

    # ------------------------------------------------------------------ Transport
    @property
    def name(self) -> str:
        return self._name

    def execute(
        self,
        cdb: bytes,
        direction: Direction,
        data: Buffer | bytes | int | None = None,
        timeout: float = 30.0,
    ) -> CommandResult:
        """Run one CDB. The emulator answers at once, so ``timeout`` never expires here."""
        started = time.perf_counter()
        data_in, data_out = _buffers(direction, data)
        with self._lock:
            if self._gone:
                raise DeviceError(
                    f"{self._name}: the drive disappeared (ENODEV) — it was unplugged or reset; "
                    "reconnect it and retry"
                )
            if self._closed:
                raise DeviceError(f"{self._name} was closed; open a new VirtualBurner to use it")
            self.command_log.append(cdb[0] if cdb else -1)
            if len(self.command_log) > COMMAND_LOG_LIMIT:
                del self.command_log[: COMMAND_LOG_LIMIT // 2]
            xfer = commands.Transfer(data_in, data_out)
            try:
                reply = self._run(bytes(cdb), xfer)
            except r.CheckCondition as check:
                return CommandResult(
                    CHECK_CONDITION,
                    check.sense(),
                    residual=len(data_in),
                    duration=time.perf_counter() - started,
                )
            if reply is not None:
                size = min(len(reply), len(data_in))
                data_in[:size] = reply[:size]
                xfer.transferred = size
            return CommandResult(
                GOOD,
                residual=len(data_in) - xfer.transferred,
                duration=time.perf_counter() - started,
                data=data_in[: xfer.transferred],
            )

    def close(self) -> None:
        """Save the disc state and release the backing file; later commands raise."""
        with self._lock:
            self._detach()
            self._closed = True

    # ------------------------------------------------------------------ firmware gating
    def _run(self, cdb: bytes, xfer: commands.Transfer) -> bytes | None:
        state = self._state
        if not cdb:
            raise r.CheckCondition(r.INVALID_OPCODE)
        opcode = cdb[0]
        length = _GROUP_LENGTH.get(opcode >> 5)
        if length is None or (state.peripheral_type != 5 and opcode not in _NON_MMC):
            raise r.CheckCondition(r.INVALID_OPCODE)
        if len(cdb) != length:
            raise r.invalid_cdb_field(0)
        command = commands.COMMANDS.get(opcode)
        if command is None:
            raise r.CheckCondition(r.INVALID_OPCODE)
        if state.pending_ua is not None and not command.ua_exempt:
            code, state.pending_ua = state.pending_ua, None
            raise r.CheckCondition(code)
        if not command.while_busy:
            busy = state.current_busy()
            if busy is not None:
                raise r.CheckCondition(busy.code, progress=busy.progress(time.monotonic()))
        if command.needs_medium:
            condition = state.not_ready_condition()
            if condition is not None:
                raise condition
        if not self._faults.rules:
            return command.handler(state, cdb, xfer)
        blocks = commands.block_range(cdb)
        injected = self._faults.sense_for(opcode, blocks)
        if injected is not None:
            raise r.CheckCondition(injected, info=blocks[0] if blocks else None)
        reply = command.handler(state, cdb, xfer)
        for action in self._faults.actions_after(opcode, blocks):
            self._apply(action)
        return reply

    def _apply(self, action: str) -> None:
        if action == "remove medium":
            self._remove()
        elif action == "open tray":
            commands.eject(self._state)
        elif action == "reset":
            self._state.reset()
        elif action == "disappear":
            self._gone = True

    # ------------------------------------------------------------------ media handling
    def insert(
        self,
        media: str,
        backing: str | None = None,
        capacity: int | None = None,
        read_only_image: str | None = None,
    ) -> None:
        """Put a new medium in and close the tray: unit attention 6/28/00, then ready."""
        with self._lock:
            self._detach()
            self._attach(media, backing, capacity, read_only_image)
            self._state.loaded = False
            commands.load(self._state, self._ready_delay)

    def remove_medium(self) -> None:
        """Take the medium out (as a user does with an open tray); the tray ends closed."""
        with self._lock:
            self._remove()

    def open_tray(self) -> bool:
        """Press the eject button: refused (False, GESN eject request) while locked."""
        with self._lock:
            if self._state.locked:
                self._state.events.append(EVENT_EJECT_REQUEST)
                return False
            commands.eject(self._state)
            return True

    def close_tray(self) -> None:
        with self._lock:
            commands.load(self._state, self._ready_delay)

    @property
    def medium(self) -> Disc | None:
        """The disc in the drive (loaded or lying in the open tray), for inspection."""
        return self._state.disc

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    def _remove(self) -> None:
        if self._state.loaded:
            commands.eject(self._state)
        self._detach()
        self._state.tray_open = False

    def _attach(
        self, media: str, backing: str | None, capacity: int | None, image: str | None
    ) -> None:
        kind = kind_by_name(media)
        if kind.recording is Recording.ROM:
            if image is None:
                raise ValueError(f"{media} is pressed media: pass read_only_image=<image file>")
            store = Backing(image, read_only=True)
            size = -(-os.fstat(store.fd).st_size // BLOCK)
            disc = Disc.new(kind, size)
        else:
            if image is not None:
                raise ValueError(f"read_only_image is only for ROM media, not {media}")
            store = Backing(backing)
            try:
                disc = _restore(store, kind, capacity)
            except BaseException:
                store.close()
                raise
        self._state.disc, self._state.backing = disc, store
        self._state.save()

    def _detach(self) -> None:
        state = self._state
        state.end_simulation()
        state.save()
        if state.backing is not None:
            state.backing.close()
        state.disc = state.backing = None
        state.loaded = False
        state.busy = None


def _restore(store: Backing, kind: MediumKind, capacity: int | None) -> Disc:
    """The disc recorded in the backing's sidecar, or a new blank one of ``kind``."""
    saved = store.load_state()
    if not saved:
        return Disc.new(kind, capacity)
    try:
        return Disc.from_json(saved)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackingError(
            f"the state file {store.sidecar} does not describe a disc ({exc!r}); it was written "
            "by another burnd version or edited — delete it to start over with a blank disc"
        ) from exc


def _buffers(
    direction: Direction, data: Buffer | bytes | int | None
) -> tuple[memoryview, memoryview]:
    """(data-in view, data-out view) for one command, without copying the caller's bytes."""
    if direction == Direction.FROM_DEVICE:
        if isinstance(data, int):
            return memoryview(bytearray(data)), _EMPTY
        if data is None:
            return _EMPTY, _EMPTY
        view = data if isinstance(data, memoryview) else memoryview(data)
        if view.readonly:
            return _EMPTY, _EMPTY
        return view.cast("B") if view.format != "B" else view, _EMPTY
    if direction == Direction.TO_DEVICE and data is not None and not isinstance(data, int):
        view = data if isinstance(data, memoryview) else memoryview(data)
        return _EMPTY, view.cast("B") if view.format != "B" else view
    return _EMPTY, _EMPTY
