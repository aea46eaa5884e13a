"""The persistent job queue, per-drive workers and the runners that call the burn engine."""
