"""``python -m agents`` runs the ``toolgym`` command line."""

from agents.cli import main

main()
