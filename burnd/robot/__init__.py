"""Disc robots (autoloaders, towers, publishers) over serial ports, and batch burning with them.

    configs = parse_robots(toml.get("robot", []))          # pure; RobotConfigError on mistakes
    robot = open_robot(configs[0]); robot.init()
    drives = [OpticalDrive(...) for path in configs[0].drives]   # bay i = configs[0].drives[i]
    batch = Batch(robot, drives, image_fd, copies=20, on_event=callback,
                  accept_capacity=configs[0].accept_capacity, reject_capacity=configs[0].reject_capacity)
    batch.start(); ... batch.pause() / batch.resume() / batch.cancel(); batch.status()

Modules: base (Robot interface, Bin, RobotStatus, error states), serialport (settings and the
pyserial link), one driver per command set (generic, rimage, aleratec, primera), config
(``[[robot]]`` entries), batch (IMAGE × N over the robot's drives), sim (a simulated robot on a
pty whose bays hold virtual burners, for tests and demos).
"""

from burnd.robot.base import (
    AcceptBinFull,
    Bin,
    InputBinEmpty,
    RejectBinFull,
    Robot,
    RobotDoorOpen,
    RobotError,
    RobotJammed,
    RobotNotResponding,
    RobotProtocolError,
    RobotStatus,
    RobotUnsupported,
    TrayNotOpen,
)
from burnd.robot.batch import (
    Batch,
    BatchEvent,
    BatchState,
    BatchStatus,
    DiscResult,
    TooManyFailures,
)
from burnd.robot.config import (
    PROTOCOLS,
    RobotConfig,
    RobotConfigError,
    open_robot,
    parse_robots,
)
from burnd.robot.serialport import SerialLink, SerialSettings

__all__ = [
    "PROTOCOLS", "AcceptBinFull", "Batch", "BatchEvent", "BatchState", "BatchStatus", "Bin", "DiscResult",
    "InputBinEmpty", "RejectBinFull", "Robot", "RobotConfig", "RobotConfigError", "RobotDoorOpen", "RobotError",
    "RobotJammed", "RobotNotResponding", "RobotProtocolError", "RobotStatus", "RobotUnsupported", "SerialLink",
    "SerialSettings", "TooManyFailures", "TrayNotOpen", "open_robot", "parse_robots",
]
