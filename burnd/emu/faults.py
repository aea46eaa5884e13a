"""Fault injection for the virtual burner: a small declarative plan of rules.

A plan is a list of rule strings (one per line when given as one string; ``#`` starts a
comment). Two kinds of rule exist::

    sense rule:  [first] COMMAND [lba OP N] : K/AA/QQ [xN] [after N]
    event rule:  ACTION after N COMMANDs

COMMAND names a command class: ``write`` (WRITE 10/12, WRITE AND VERIFY), ``read`` (READ 10/12,
READ CD), ``sync``, ``close``, ``blank``, ``format``, ``reserve``, ``tur``, ``inquiry``, ``any``,
or an opcode as ``0xNN``; a trailing ``s`` is ignored (``writes``). ``lba OP N`` with OP one of
``< <= > >= =`` matches when any block of the command's range satisfies it (so ``lba>=1000`` hits
the WRITE that crosses block 1000). ``K/AA/QQ`` is the sense (hex) returned as CHECK CONDITION
instead of executing the command. ``xN`` fires at most N times (``first`` means ``x1``),
``after N`` lets the first N matching commands through. Without ``xN`` a sense rule never
expires.

ACTION is ``remove medium``, ``open tray``, ``reset`` (unit attention 6/29/00: the drive lost
its settings) or ``disappear`` (every later command raises ``DeviceError``, as SG_IO's ENODEV
does). An event rule fires once, after the Nth successful matching command.

Examples::

    write lba>=1000: 3/0C/00          every WRITE touching block 1000 or beyond fails
    sync: 2/04/08 x3                  the first three SYNCHRONIZE CACHEs report "long write"
    first write: 5/73/03              power calibration error on the first WRITE
    write: 3/0C/00 after 100 x1       the 101st WRITE fails once
    remove medium after 5 writes
    disappear after 10 writes
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

COMMAND_CLASSES: dict[str, frozenset[int] | None] = {
    "write": frozenset({0x2A, 0xAA, 0x2E}),
    "read": frozenset({0x28, 0xA8, 0xBE}),
    "sync": frozenset({0x35}),
    "close": frozenset({0x5B}),
    "blank": frozenset({0xA1}),
    "format": frozenset({0x04}),
    "reserve": frozenset({0x53}),
    "tur": frozenset({0x00}),
    "inquiry": frozenset({0x12}),
    "any": None,
    "command": None,
}
ACTIONS = ("remove medium", "open tray", "reset", "disappear")

# For a block range [first, last]: does some block satisfy "block OP n"?
_RANGE_TESTS: dict[str, Callable[[int, int, int], bool]] = {
    "<": lambda first, last, n: first < n,
    "<=": lambda first, last, n: first <= n,
    ">": lambda first, last, n: last > n,
    ">=": lambda first, last, n: last >= n,
    "=": lambda first, last, n: first <= n <= last,
}

_SENSE_RULE = re.compile(
    r"^(?P<first>first\s+)?(?P<cmd>\S+?)\s*(?:lba\s*(?P<op><=|>=|<|>|=)\s*(?P<lba>\d+))?\s*:"
    r"\s*(?P<key>[0-9a-f]{1,2})/(?P<asc>[0-9a-f]{1,2})/(?P<ascq>[0-9a-f]{1,2})"
    r"(?P<opts>(?:\s+(?:x\s*\d+|after\s+\d+))*)\s*$"
)
_EVENT_RULE = re.compile(
    r"^(?P<action>remove medium|open tray|reset|disappear)\s+after\s+(?P<n>\d+)\s+(?P<cmd>\S+)$"
)


class FaultPlanError(ValueError):
    """A fault rule does not follow the grammar in this module's docstring."""


def _opcodes(word: str, rule: str) -> frozenset[int] | None:
    name = word.lower()
    if name.startswith("0x"):
        try:
            return frozenset({int(name, 16)})
        except ValueError:
            pass
    for candidate in (name, name.removesuffix("s")):
        if candidate in COMMAND_CLASSES:
            return COMMAND_CLASSES[candidate]
    known = ", ".join(COMMAND_CLASSES)
    raise FaultPlanError(
        f"fault rule {rule!r}: unknown command {word!r}; use one of {known} or 0xNN"
    )


@dataclass
class FaultRule:
    """One parsed rule and its counters (``seen`` matching commands, ``fired`` times)."""

    text: str
    opcodes: frozenset[int] | None
    sense: tuple[int, int, int] | None = None
    action: str | None = None
    lba_test: tuple[str, int] | None = None
    times: int | None = None
    skip: int = 0
    seen: int = 0
    fired: int = 0

    @property
    def expired(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, opcode: int, blocks: tuple[int, int] | None) -> bool:
        if self.expired or (self.opcodes is not None and opcode not in self.opcodes):
            return False
        if self.lba_test is None:
            return True
        if blocks is None:
            return False
        op, n = self.lba_test
        return _RANGE_TESTS[op](blocks[0], blocks[1], n)


def parse_rule(text: str) -> FaultRule:
    line = " ".join(text.lower().split())
    event = _EVENT_RULE.match(line)
    if event:
        return FaultRule(
            text,
            _opcodes(event["cmd"], text),
            action=event["action"],
            times=1,
            skip=int(event["n"]),
        )
    sense = _SENSE_RULE.match(line)
    if not sense:
        raise FaultPlanError(
            f"fault rule {text!r} is not understood; write e.g. 'write lba>=1000: 3/0C/00', "
            "'sync: 2/04/08 x3' or 'remove medium after 5 writes'"
        )
    rule = FaultRule(
        text,
        _opcodes(sense["cmd"], text),
        sense=(int(sense["key"], 16) & 0x0F, int(sense["asc"], 16), int(sense["ascq"], 16)),
        times=1 if sense["first"] else None,
    )
    if sense["op"]:
        rule.lba_test = (sense["op"], int(sense["lba"]))
    for kind, value in re.findall(r"(x|after)\s*(\d+)", sense["opts"]):
        if kind == "x":
            rule.times = int(value)
        else:
            rule.skip = int(value)
    return rule


class FaultPlan:
    """The rules of one virtual burner, consulted before and after every command."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self.rules = list(rules)

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> FaultPlan:
        lines = text.splitlines() if isinstance(text, str) else list(text)
        rules = []
        for line in lines:
            content = line.split("#", 1)[0].strip()
            if content:
                rules.append(parse_rule(content))
        return cls(rules)

    def __bool__(self) -> bool:
        return any(not rule.expired for rule in self.rules)

    def sense_for(self, opcode: int, blocks: tuple[int, int] | None) -> tuple[int, int, int] | None:
        """The injected sense for a command about to run, if a sense rule fires."""
        for rule in self.rules:
            if rule.sense is None or not rule.matches(opcode, blocks):
                continue
            rule.seen += 1
            if rule.seen > rule.skip:
                rule.fired += 1
                return rule.sense
        return None

    def actions_after(self, opcode: int, blocks: tuple[int, int] | None) -> list[str]:
        """Event actions triggered by a command that just completed successfully."""
        fired = []
        for rule in self.rules:
            if rule.action is None or not rule.matches(opcode, blocks):
                continue
            rule.seen += 1
            if rule.seen >= rule.skip:
                rule.fired += 1
                fired.append(rule.action)
        return fired
