"""``python -m repprofile``: the same command line as the ``repprofile`` console script
(``repprofile.cli:main`` in pyproject's ``[project.scripts]``)."""

import sys

from repprofile.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
