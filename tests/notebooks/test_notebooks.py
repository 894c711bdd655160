"""Every notebook under notebooks/ executed headless (nbclient, Debian's python3 kernel), every cell: a cell that
raises — including the asserts each notebook makes about its own results — fails the test. The executed copies,
outputs included, are written to $ATTN_NOTEBOOK_OUT (for the book) when it is set."""
import os
import pathlib
import time

import nbformat
import pytest
from nbclient import NotebookClient

REPO = pathlib.Path(os.environ.get("ATTN_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
NOTEBOOKS = sorted((REPO / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO / "notebooks")))
def test_notebook_runs(path):
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    print(f"{path.relative_to(REPO)}: {seconds:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    out = os.environ.get("ATTN_NOTEBOOK_OUT")
    if out:
        target = pathlib.Path(out) / path.relative_to(REPO / "notebooks")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
