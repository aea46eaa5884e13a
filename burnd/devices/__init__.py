"""Drives burnd manages: optical drives found through udev/sysfs and virtual burners."""
