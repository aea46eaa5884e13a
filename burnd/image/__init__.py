"""Disc images: detect, inspect, list, extract, create, edit, convert (no drives, no D-Bus)."""
