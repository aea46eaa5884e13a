"""ISO 9660 / Joliet / Rock Ridge / El Torito / UDF images: inspect, list, extract, create, edit.

Reading uses burnd's own bounded walkers (``tree``, ``udf``); writing uses burnd's own
reproducible writer (``writer``). pycdlib serves as an independent reader in the tests.
"""

from burnd.image.iso.create import BootImage, CreateError, CreateReport, create
from burnd.image.iso.edit import Add, EditError, EditReport, Remove, Rename, Replace, edit
from burnd.image.iso.entry import Entry, Kind, Run
from burnd.image.iso.extract import ExtractError, ExtractReport, Skipped, extract
from burnd.image.iso.inspect import IsoInfo, inspect
from burnd.image.iso.reader import IsoImage, list_image
from burnd.image.iso.source import IsoSource

__all__ = [
    "Add",
    "BootImage",
    "CreateError",
    "CreateReport",
    "EditError",
    "EditReport",
    "Entry",
    "ExtractError",
    "ExtractReport",
    "IsoImage",
    "IsoInfo",
    "IsoSource",
    "Kind",
    "Remove",
    "Rename",
    "Replace",
    "Run",
    "Skipped",
    "create",
    "edit",
    "extract",
    "inspect",
    "list_image",
]
