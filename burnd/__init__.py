"""burnd: burn discs and turn disc images into virtual drives."""

__version__ = "0.1.0"
