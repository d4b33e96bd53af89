"""Shared set-up of the Jupyter tests: the tapebook binary and its kernelspec in a folder of their own.

The kernelspec is installed with `tapebook kernel install --prefix` into a temporary folder that
JUPYTER_PATH points at, so the tests never touch the user's Jupyter set-up.
"""
import atexit
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SESSIONS = os.path.join(ROOT, "sessions")
BINARY = os.environ.get("TAPEBOOK_BIN") or os.path.join(ROOT, ".build", "release", "tapebook")
# Generous: a busy shared machine may be slow, and the tests wait on replies, never on the clock.
TIMEOUT = 600

_prefix = tempfile.mkdtemp(prefix="tapebook-kernelspec-")
atexit.register(shutil.rmtree, _prefix, True)
subprocess.run([BINARY, "kernel", "install", "--prefix", _prefix], check=True, stdout=subprocess.DEVNULL)
subprocess.run([BINARY, "kernel", "install", "--prefix", _prefix, "--confined"], check=True, stdout=subprocess.DEVNULL)
os.environ["JUPYTER_PATH"] = os.path.join(_prefix, "share", "jupyter")
# Kernels started by the tests never show a progress output (it would come or not with the machine's
# speed); the test of the progress output starts its kernel with no delay.
os.environ["TAPEBOOK_PROGRESS_DELAY"] = "1e9"
# A kernel started by a test must not read or write the user's Jupyter runtime files.
os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(_prefix, "runtime"))


def tapebook(*arguments, cwd=None):
    """Runs the tapebook binary; its standard output as text."""
    return subprocess.run([BINARY, *arguments], check=True, capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", "LANG": "C.UTF-8"}).stdout


def output_lines(outputs):
    """The text lines of a cell's outputs, as a .tape file's #> lines hold them."""
    lines = []
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            text = output["text"]
        elif kind in ("execute_result", "display_data"):
            text = output["data"].get("text/plain", "")
        elif kind == "error":
            text = "\n".join(output["traceback"])
        else:
            continue
        if isinstance(text, list):
            text = "".join(text)
        lines += text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
    return lines


def normalized(lines):
    """Lines as compared between a lesson and its notebook: trailing spaces dropped (as `tapebook check`
    does), and line numbers replaced by N: a lesson numbers the lines of its file, the kernel those of each
    cell (as Jupyter users expect). Columns, carets and every other character are still compared."""
    import re
    out = []
    for line in lines:
        line = line.rstrip()
        line = re.sub(r"^\s*-->\s*(.*?)\d+:(\d+)", r"--> \1N:\2", line)
        line = re.sub(r"^\s*\d*\s*│", "N │", line)
        line = re.sub(r"^\s+= ", "= ", line)
        line = re.sub(r"\bline \d+", "line N", line)
        # The `tape` listing's last column is the line an operation was recorded on.
        line = re.sub(r"^(#\d+\s.*?)\s+\d+$", r"\1 N", line)
        out.append(line)
    return out
