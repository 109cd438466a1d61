"""The ``repprofile`` command line (an interface: the top layer).

``main(argv)`` runs a command and returns its exit status; ``build_parser()`` gives
the argparse parser (used for the generated CLI reference).
"""

from repprofile.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
