"""D-Bus objects (Manager, Drive, Job, VirtualDrive, Robot), authorization and error mapping — no burning logic."""

BUS_NAME = "org.burnd.Burnd1"
ROOT_PATH = "/org/burnd/Burnd1"
DRIVES_PATH = ROOT_PATH + "/drives"
JOBS_PATH = ROOT_PATH + "/jobs"
VIRTUAL_PATH = ROOT_PATH + "/virtual"
ROBOTS_PATH = ROOT_PATH + "/robots"
INTERFACE = "org.burnd.Burnd1"
