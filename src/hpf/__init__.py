"""hpf — Housing Provident Fund (住房公积金) management system."""

__version__ = "0.1.0"
