"""Virtual drives: disc images attached as read-only loop devices, by hand or by rules.

The daemon uses two objects (everything blocks; run calls with ``asyncio.to_thread``):

* ``attach.VirtualDrives(state_dir, group=..., cache_limit=..., on_change=...)``:
  ``recover()`` once at start, then ``attach(fd_or_path, caller=Credentials.of_pid(pid), ...)``,
  ``detach(device, caller=...)``, ``list()``, ``get(device)``; ``on_change("added"|"removed",
  attachment)`` feeds ObjectManager signals.
* ``watch.AutoAttacher(drives, autoattach.parse_rules(config["auto_attach"]), on_event=...)``:
  ``start()`` after ``recover()``, ``stop()`` at shutdown; runs its own thread.

Modules: ``attach`` (view choice, records, recovery, authorization), ``translate`` (FUSE views
of raw and compressed images), ``cache`` (converted-copy fallback), ``registry`` (a record
file per attachment), ``autoattach`` (rules, pure), ``watch`` (uevents, mounts, folders),
``mounts`` (mount tables of any process), ``inotify``.
The loop ioctls themselves are in ``burnd.loop``.
"""
