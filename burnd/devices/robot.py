"""ManagedRobot: one disc robot under burnd's care — its link, its last word, its batch.

The serial link is opened on first use and kept (a robot is plugged in for good, like a
drive); a link that failed is closed and reopened on the next use, so plugging the cable
back in is enough. Serial I/O runs on the robot's own thread and never overlaps a batch's:
while a batch runs, the batch owns the robot and a status query answers from the batch.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from burnd.errors import BurndError
from burnd.robot import Bin, Robot, RobotConfig, RobotError, RobotStatus, open_robot
from burnd.robot.virtual import VirtualRobot

log = logging.getLogger("burnd.robot")

IDLE, RUNNING, PAUSED, OFFLINE = "idle", "running", "paused", "offline"


class ManagedRobot:
    def __init__(self, config: RobotConfig, virtual: VirtualRobot | None = None) -> None:
        self.config = config
        self.virtual = virtual
        self.name = config.name
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"robot-{config.name}")
        self.state = IDLE
        self.detail = ""
        self.error: BurndError | None = None
        self._counts: dict[Bin, int] = {}
        self.batch_job: int | None = None
        """The id of the robot-write job that owns the robot, or None."""
        self._link: Robot | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ on the robot's thread

    def robot(self) -> Robot:
        """The open driver, opening the port if needed (RobotPortError when it cannot)."""
        with self._lock:
            if self._link is None:
                self._link = open_robot(self.config)
            return self._link

    def query(self) -> RobotStatus:
        """Ask the robot how it is; the outcome (or the error) becomes the robot's state."""
        try:
            status = self.robot().status()
        except RobotError as exc:
            self.went_offline(exc)
            raise
        self.state, self.error = IDLE, None
        self.detail = status.detail
        self.count({b: n for b, n in status.bins.items() if n is not None})
        return status

    def init(self) -> Robot:
        """Sign on and home before a batch; the driver, ready to move discs."""
        try:
            robot = self.robot()
            robot.init()
        except RobotError as exc:
            self.went_offline(exc)
            raise
        return robot

    def went_offline(self, error: RobotError) -> None:
        """Record the failure and drop the link, so the next use reopens the port."""
        log.warning("robot %s: %s", self.name, error)
        self.state, self.error, self.detail = OFFLINE, error, str(error)
        self._drop_link()

    @property
    def bins(self) -> dict[Bin, int]:
        """Discs per bin where known: a virtual robot counts its own; a real one only what it
        reports, or what the current batch dropped."""
        return self.virtual.bins() if self.virtual is not None else dict(self._counts)

    def count(self, counts: dict[Bin, int]) -> None:
        self._counts = counts

    def _drop_link(self) -> None:
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.close()

    def close(self) -> None:
        self._drop_link()
        self.executor.shutdown(wait=True)
        if self.virtual is not None:
            self.virtual.close()
