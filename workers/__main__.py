"""``python -m workers`` is the ``wirewatch`` command."""

from .cli import main

main()
