"""Browser tests of the candidate pages (Playwright + Debian's chromium + axe-core)."""

import pytest

# The helpers assert; show their values on failure as in a test module.
pytest.register_assert_rewrite("tests.browser._drive", "tests.browser._harness")
