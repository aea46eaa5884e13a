"""The burn engine: plan (pure) → write loop → close → verify; blank, format, rip.

    plan = prepare(drive, size, BurnOptions(multisession=True))     # dry run, or a refusal
    result = burn(drive, open("image.iso", "rb"), options, progress=print, cancel=event)

Modules: plan (medium facts + size + options → steps or refusal), writer (executor and
write loop), fifo (reader thread + hashing), ops (drive commands with retry/poll policy),
verify, grow (ISO growing on overwritable media), blank (blank/format), close (close a
session / finalize), rip, progress,
device (exclusive open of a real drive), errors.
"""

from burnd.burn.blank import blank, format_medium
from burnd.burn.close import close_session
from burnd.burn.device import open_exclusive
from burnd.burn.errors import (
    BurnError,
    BurnRefused,
    Cancelled,
    MediumMissing,
    MediumNotBlank,
    MediumNotWritable,
    MediumTooSmall,
    OptionNotSupported,
    SessionOpen,
    VerifyMismatch,
    WriteFailed,
    WrongMedium,
)
from burnd.burn.plan import BurnOptions, BurnPlan, MediumFacts, Strategy, plan_burn
from burnd.burn.progress import Phase, ProgressEvent
from burnd.burn.rip import RipResult, rip
from burnd.burn.verify import VerifyResult, verify
from burnd.burn.writer import BurnResult, burn, gather_facts, multisession_info, prepare

__all__ = [
    "BurnError", "BurnOptions", "BurnPlan", "BurnRefused", "BurnResult", "Cancelled", "MediumFacts",
    "MediumMissing", "MediumNotBlank", "MediumNotWritable", "MediumTooSmall", "OptionNotSupported", "Phase",
    "SessionOpen",
    "ProgressEvent", "RipResult", "Strategy", "VerifyMismatch", "VerifyResult", "WriteFailed", "WrongMedium",
    "blank", "burn", "close_session", "format_medium", "gather_facts", "multisession_info", "open_exclusive", "plan_burn", "prepare", "rip", "verify",
]
