"""Every lesson as a notebook: converted, executed by the tapebook kernel with nbclient, its outputs the
same as `tapebook run` prints (the lesson's #> lines, which the Swift suite checks against `run`)."""
import base64
import glob
import re
import os
import subprocess
import sys
import tempfile
import unittest

import support  # installs the kernelspec first
import nbformat
from nbclient import NotebookClient

LESSONS = sorted(glob.glob(os.path.join(support.SESSIONS, "*.tape")))


def kernel_for(path):
    """Lesson 40 shows the confinement of replays (`run`, `check`, `:load`): the tapebook kernel's cells are
    trusted, as what a person types at the REPL, so it runs on the confined kernel, whose cells write as a
    replayed file's do (and its refused writes, outside the lessons' folder, are refused there too)."""
    return "tapebook-confined" if os.path.basename(path).startswith("40-") else "tapebook"


def execute(path, workdir):
    """The lesson converted to a notebook in `workdir` and executed there; the notebook before and after."""
    target = os.path.join(workdir, os.path.basename(path)[:-5] + ".ipynb")
    support.tapebook("convert", path, "--to", "ipynb", "--output", target)
    stored = nbformat.read(target, as_version=4)
    nbformat.validate(stored)
    executed = nbformat.read(target, as_version=4)
    # Relative file names in a lesson resolve against its own folder, as for `tapebook run`.
    NotebookClient(executed, kernel_name=kernel_for(path), timeout=support.TIMEOUT, allow_errors=True,
                   resources={"metadata": {"path": support.SESSIONS}}).execute()
    return target, stored, executed


class LessonNotebookTests(unittest.TestCase):
    def test_every_lesson_runs_in_the_kernel_as_in_tapebook_run(self):
        self.assertGreater(len(LESSONS), 20)
        self.assertIn("tapebook-confined", map(kernel_for, LESSONS))
        with tempfile.TemporaryDirectory() as workdir:
            for path in LESSONS:
                with self.subTest(lesson=os.path.basename(path)):
                    _, stored, executed = execute(path, workdir)
                    code = [(a, b) for a, b in zip(stored.cells, executed.cells) if a.cell_type == "code"]
                    self.assertTrue(code)
                    for before, after in code:
                        self.assertEqual(support.normalized(support.output_lines(after.outputs)),
                                         support.normalized(support.output_lines(before.outputs)), "cell:\n" + before.source)

    def test_a_lesson_converts_to_html_with_its_svg_graph(self):
        with tempfile.TemporaryDirectory() as workdir:
            lesson = os.path.join(support.SESSIONS, "80-graph-grad.tape")
            target, _, executed = execute(lesson, workdir)
            nbformat.write(executed, target)
            subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", target], check=True,
                           capture_output=True, cwd=workdir)
            with open(target[:-6] + ".html", encoding="utf-8") as f:
                html = f.read()
            # nbconvert embeds SVG outputs as data URIs.
            images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
            self.assertEqual(len(images), 2, "the two graph grad drawings")
            svg = base64.b64decode(images[1]).decode("utf-8")
            self.assertTrue(svg.startswith("<svg"), svg[:80])
            self.assertIn(">grad [0.8333, 1.6667, 2.6667]</text>", svg)


class ConversionTests(unittest.TestCase):
    def test_every_lesson_goes_to_a_notebook_and_back_unchanged(self):
        with tempfile.TemporaryDirectory() as workdir:
            for path in LESSONS:
                with self.subTest(lesson=os.path.basename(path)):
                    notebook = os.path.join(workdir, "lesson.ipynb")
                    back = os.path.join(workdir, "lesson.tape")
                    support.tapebook("convert", path, "--to", "ipynb", "--output", notebook)
                    nbformat.validate(nbformat.read(notebook, as_version=4))
                    support.tapebook("convert", notebook, "--to", "tape", "--output", back)
                    with open(path, encoding="utf-8") as a, open(back, encoding="utf-8") as b:
                        self.assertEqual(b.read(), a.read())


if __name__ == "__main__":
    unittest.main()
