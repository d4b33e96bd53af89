"""Runs exported tapebook scripts in this one Python process and compares what they print with
tapebook's own values (the export fidelity test, Tests/TapeLanguageTests/ExportFidelityTests.swift).

    python tools/export-fidelity.py MANIFEST.json

The manifest is {"cases": [{"name", "script", "cwd", "expected"}]}, where "expected" lists tapebook's
printed values in order, each null (None) or [shape, [repr of each float]]. The scripts run with
TAPEBOOK_SHOW=full, so their `show` prints one "tapebook-value" line of JSON per value at full
precision. Prints one JSON object per case: name, status (match, mismatch, crash) and detail.
"""
import contextlib
import io
import json
import math
import os
import runpy
import sys
import traceback

RELATIVE = 1e-9
MARK = "tapebook-value "


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    # Sums in another order differ in the last bits, and a difference of two such sums can be 1e-17
    # where the exact answer is 0: an absolute floor far below anything a lesson prints.
    return abs(a - b) <= RELATIVE * max(abs(a), abs(b)) or abs(a - b) <= 1e-13


def describe(v):
    if v is None:
        return "None"
    shape, data = v
    text = ", ".join(data[:6]) + (", ..." if len(data) > 6 else "")
    return f"shape {shape} [{text}]"


def compare(expected, printed):
    for i, (e, p) in enumerate(zip(expected, printed)):
        if (e is None) != (p is None):
            return f"value {i + 1}: tapebook {describe(e)}, script {describe(p)}"
        if e is None:
            continue
        if list(e[0]) != list(p[0]) and not (math.prod(e[0]) == math.prod(p[0]) == 1 and len(e[0]) == 0):
            return f"value {i + 1}: tapebook {describe(e)}, script {describe(p)} (shapes differ)"
        for a, b in zip(e[1], p[1]):
            if not close(float(a), float(b)):
                return f"value {i + 1}: tapebook {describe(e)}, script {describe(p)}"
    if len(expected) != len(printed):
        return f"tapebook printed {len(expected)} values, the script {len(printed)}"
    return None


def run(case):
    out = io.StringIO()
    here = os.getcwd()
    try:
        os.chdir(case["cwd"])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            runpy.run_path(case["script"], run_name="__main__")
        crash = None
    except BaseException as e:  # a script's failure is this case's result, not the runner's
        lines = traceback.format_exception_only(type(e), e)
        crash = (lines[-1] if lines else repr(e)).strip()[:400]
    finally:
        os.chdir(here)
    printed = []
    for line in out.getvalue().splitlines():
        if line.startswith(MARK):
            v = json.loads(line[len(MARK):])
            printed.append(v)
    if crash is not None:
        return "crash", f"after {len(printed)} of {len(case['expected'])} values: {crash}"
    detail = compare(case["expected"], printed)
    return ("mismatch", detail) if detail else ("match", "")


def main():
    os.environ["TAPEBOOK_SHOW"] = "full"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    for case in cases:
        status, detail = run(case)
        sys.__stdout__.write(json.dumps({"name": case["name"], "status": status, "detail": detail}) + "\n")
        sys.__stdout__.flush()


if __name__ == "__main__":
    main()
