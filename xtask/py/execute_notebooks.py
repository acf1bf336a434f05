"""Run one Jupyter notebook headless and fail if any cell errors or panics.

Usage: python execute_notebooks.py NOTEBOOK.ipynb KERNEL_NAME

Called by `cargo xtask notebooks --execute` (see xtask/src/notebooks.rs), once per
notebook. The kernel starts in the notebook's folder, so `:dep recurrent = { path = ".." }`
resolves to the repository's crate. Outputs are never written back to the repository.
"""

import re
import sys

import nbformat
from nbclient import NotebookClient

# The first cell compiles the notebook's dependencies (ndarray, recurrent, ...) from
# scratch on a cold cache, which takes minutes on a 2-core machine.
CELL_TIMEOUT_S = 600
STARTUP_TIMEOUT_S = 120
PANIC = "panicked at"
# evcxr colours its compiler errors; colour codes would garble a CI log.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def problems(nb):
    """(cell number, message) for every cell with an error or a panic in its output."""
    found = []
    for index, cell in enumerate(nb.cells, start=1):
        outputs = cell.get("outputs", [])
        for output in outputs:
            if output.get("output_type") == "error":
                lines = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
                found.append((index, "\n".join(lines + output.get("traceback", []))))
        # A panic message arrives in several stderr chunks; judge and show them whole.
        stderr = "".join(
            output.get("text", "")
            for output in outputs
            if output.get("output_type") == "stream" and output.get("name") == "stderr"
        )
        if PANIC in stderr:
            found.append((index, stderr))
    return found


def main():
    path, kernel = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    folder = path.rsplit("/", 1)[0] if "/" in path else "."
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT_S,
        startup_timeout=STARTUP_TIMEOUT_S,
        # Keep going after an error so every broken cell is reported in one run.
        allow_errors=True,
        resources={"metadata": {"path": folder}},
    )
    client.execute()
    found = problems(nb)
    for index, text in found:
        source = nb.cells[index - 1].source.strip().splitlines()
        first = source[0] if source else ""
        print(f"cell {index} failed ({first})")
        print("    " + "\n    ".join(ANSI.sub("", text).strip().splitlines()[:20]))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
