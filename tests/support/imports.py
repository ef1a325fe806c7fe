"""Make packages unimportable in a child interpreter, to test what a missing extra says.

A `sitecustomize.py` on the child's PYTHONPATH puts a finder first on `sys.meta_path` that
raises ModuleNotFoundError for the named top-level packages: the real interpreter and the real
dispatcher run, only those packages are absent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def import_blocker(directory: Path, *packages: str) -> str:
    """Write the blocker into `directory`/blocker and return that folder for PYTHONPATH."""
    blocker = directory / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {packages!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    return str(blocker)
