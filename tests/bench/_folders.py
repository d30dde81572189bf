"""Folders the command-line tests write into, or cannot: shared by the bench and tour CLI tests."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

__all__ = ["read_only_dir"]


def _can_write(folder: Path) -> bool:
    try:
        fd, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder in which no file can be created.

    A ``chmod 555`` folder; root ignores file modes, so there the root of sysfs (Linux), which
    refuses new files to every user, stands in; with neither the test is skipped.
    """
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if _can_write(ro):
            sysfs = Path("/sys")
            if not (sys.platform.startswith("linux") and sysfs.is_dir() and not _can_write(sysfs)):
                pytest.skip("no folder here refuses writes (root, and no sysfs)")
            yield sysfs
        else:
            yield ro
    finally:
        ro.chmod(0o755)
