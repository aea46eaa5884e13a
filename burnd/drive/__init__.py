"""Typed operations on one optical drive over any ``burnd.scsi.transport.Transport``."""

from burnd.drive.optical import DriveIdentity, OpticalDrive
from burnd.drive.report import MediaReport, TrackReport
from burnd.scsi.features import Feature
from burnd.scsi.profiles import Profile

__all__ = ["DriveIdentity", "Feature", "MediaReport", "OpticalDrive", "Profile", "TrackReport"]
