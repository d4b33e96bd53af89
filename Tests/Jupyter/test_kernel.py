"""The tapebook kernel against jupyter_kernel_test, and its interrupt."""
import os
import re
import struct
import unittest
import zlib

import support  # installs the kernelspec first
import jupyter_kernel_test
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel


class TapebookKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tapebook"
    language_name = "tape"
    file_extension = ".tape"

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "x = [1, 2, 3]", "result": "x = [1, 2, 3]"},
        {"code": "x = [1, 2, 3];\nwatch x\ny = sum(x^2);\ngrad y wrt x", "result": "∂y/∂x = [2, 4, 6]"},
        {"code": "eye(2)", "mime": "text/html"},
    ]
    code_display_data = [
        {"code": "plot [3, 1, 2]", "mime": "image/svg+xml"},
        {"code": "plot sin(x) over x in -1..1", "mime": "image/svg+xml"},
        {"code": "w = 2\nwatch w\ngraph grad w * w wrt w", "mime": "text/plain"},
    ]
    completion_samples = [
        {"text": "softm", "matches": {"softmax"}},
        {"text": "x = 1 + sof", "matches": {"softmax", "softplus"}},
        {"text": ":va", "matches": {":vars"}},
        {"text": "wat", "matches": {"watch"}},
    ]
    complete_code_samples = ["1 + 2", "repeat 3 < x = 1 >", "f(t) = t^2"]
    incomplete_code_samples = ["repeat 3 <", "x = [1, 2,", "sum(["]
    invalid_code_samples = ["1 + * 2", "x = )"]
    code_inspect_sample = "softmax"
    code_generate_error = "undefined_name + 1"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "1*"

    def test_error_has_the_caret_diagnostic(self):
        self.flush_channels()
        reply, outputs = self.execute_helper("y = 1 + nope")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["evalue"], "unknown name 'nope'")
        self.assertEqual(outputs[0]["content"]["traceback"], [
            "error: unknown name 'nope'", " --> 1:9", "  │", "1 │ y = 1 + nope", "  │         ^^^^"])

    def test_cell_of_several_statements_shares_the_session(self):
        self.flush_channels()
        self.execute_helper("a = 2\nwatch a")
        reply, outputs = self.execute_helper("grad a^3 wrt a")
        self.assertEqual([m["content"]["data"]["text/plain"] for m in outputs], ["∂(a^3)/∂a = 12"])

    def test_inspect_finds_the_name_under_the_cursor(self):
        self.flush_channels()
        msg_id = self.kc.inspect("y = softmax(x)", cursor_pos=6)
        reply = self.get_non_kernel_info_reply(timeout=support.TIMEOUT)
        self.assertTrue(reply["content"]["found"])
        self.assertIn("softmax", reply["content"]["data"]["text/plain"])

    def test_graph_is_drawn_by_graphviz_where_installed(self):
        import shutil
        if shutil.which("dot") is None:
            self.skipTest("Graphviz's dot is not installed (apt-get install graphviz)")
        self.flush_channels()
        reply, outputs = self.execute_helper("v = [1, 2]\nwatch v\ngraph grad sum(v * v) wrt v")
        figures = [m for m in outputs if m["msg_type"] == "display_data"]
        self.assertEqual(len(figures), 1)
        svg = figures[0]["content"]["data"]["image/svg+xml"]
        self.assertTrue(svg.startswith("<svg"), svg[:100])
        self.assertIn("grad [2, 4]", svg)


class OutputOrderTests(unittest.TestCase):
    """`print` writes to the cell's standard output (stream messages), in order with the results, as
    Python's print does in IPython."""

    def test_print_is_a_stream_in_order_with_the_results(self):
        km, kc = start_new_kernel(kernel_name="tapebook")
        try:
            outputs = []
            reply = kc.execute_interactive('x = 2\nprint "first", x\nx + 1\nrepeat 3 as k < print "step", k >\nx * 10',
                                           timeout=support.TIMEOUT, output_hook=outputs.append)
            self.assertEqual(reply["content"]["status"], "ok")
            shown = [(m["msg_type"], m["content"].get("name"), m["content"]["text"] if m["msg_type"] == "stream"
                      else m["content"]["data"]["text/plain"])
                     for m in outputs if m["msg_type"] in ("stream", "execute_result", "display_data")]
            self.assertEqual(shown, [
                ("execute_result", None, "x = 2"),
                ("stream", "stdout", "first 2\n"),
                ("execute_result", None, "3"),
                ("stream", "stdout", "step 0\n"),
                ("stream", "stdout", "step 1\n"),
                ("stream", "stdout", "step 2\n"),
                ("execute_result", None, "20"),
            ])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


class ProgressTests(unittest.TestCase):
    """A `repeat` loop's progress: one display_data output with a display_id, updated in place by
    update_display_data, ending at 100%. The kernel is started with no delay before the bar shows, so the
    first iteration draws it however fast the machine (the other tests start kernels that never show it)."""

    def test_a_loop_shows_a_progress_output_updated_in_place(self):
        km, kc = start_new_kernel(kernel_name="tapebook", env={**os.environ, "TAPEBOOK_PROGRESS_DELAY": "0"})
        try:
            outputs = []
            reply = kc.execute_interactive("repeat 5 as k < s = k >\ns", timeout=support.TIMEOUT, output_hook=outputs.append)
            self.assertEqual(reply["content"]["status"], "ok")
            progress = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
            self.assertEqual(progress[0]["msg_type"], "display_data")
            self.assertTrue(all(m["msg_type"] == "update_display_data" for m in progress[1:]))
            self.assertGreaterEqual(len(progress), 2)
            ids = {m["content"]["transient"]["display_id"] for m in progress}
            self.assertEqual(len(ids), 1)
            self.assertTrue(progress[0]["content"]["data"]["text/plain"].startswith("1/5  ["), progress[0]["content"])
            last = progress[-1]["content"]["data"]["text/plain"]
            self.assertTrue(last.startswith("5/5  [") and " 100%" in last, last)
            # The loop's result comes after its progress output.
            kinds = [m["msg_type"] for m in outputs if m["msg_type"] in ("display_data", "update_display_data", "execute_result")]
            self.assertEqual(kinds[-1], "execute_result")
            results = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
            self.assertEqual(results, ["4"])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


class InterruptTests(unittest.TestCase):
    """A long loop stopped through the kernel's interrupt, by SIGINT (the kernelspec's interrupt_mode) and
    by an interrupt_request on the control channel (message mode): it keeps its finished iterations, as
    Ctrl-C at the REPL does, and the kernel goes on. The interrupt is sent once the loop has printed a
    marker, so it lands mid-loop, however fast the machine."""

    LOOP = 'repeat 1000000000 < count = count + 1; if (count == 100) < print "running" > >'

    def interrupted_loop(self, interrupt):
        km, kc = start_new_kernel(kernel_name="tapebook")
        try:
            reply = kc.execute_interactive("count = 0", timeout=support.TIMEOUT, output_hook=lambda msg: None)
            self.assertEqual(reply["content"]["status"], "ok")
            msg_id = kc.execute(self.LOOP)
            outputs = []
            while True:
                msg = kc.get_iopub_msg(timeout=support.TIMEOUT)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                outputs.append(msg)
                if msg["msg_type"] == "stream":
                    break
            self.assertEqual(msg["content"]["text"], "running\n")
            interrupt(km, kc)
            reply = kc.get_shell_msg(timeout=support.TIMEOUT)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = kc.get_shell_msg(timeout=support.TIMEOUT)
            self.assertEqual(reply["content"]["status"], "ok")
            while not (msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"):
                msg = kc.get_iopub_msg(timeout=support.TIMEOUT)
                if msg["parent_header"].get("msg_id") != msg_id:
                    msg = {"msg_type": None}
                    continue
                outputs.append(msg)
            results = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
            self.assertEqual(len(results), 1, results)
            match = re.fullmatch(r"note: stopped after (\d+) of 1000000000 iterations", results[0])
            self.assertTrue(match, results[0])
            finished = int(match.group(1))
            # The iteration that printed may be the one stopped, and is then undone: 99 finished at least.
            self.assertGreaterEqual(finished, 99)
            self.assertTrue(km.is_alive())
            # The variable holds the last finished iteration's value: one more for each.
            shown = []
            reply = kc.execute_interactive("count", timeout=support.TIMEOUT, output_hook=shown.append)
            self.assertEqual(reply["content"]["status"], "ok")
            self.assertEqual([m["content"]["data"]["text/plain"] for m in shown if m["msg_type"] == "execute_result"],
                             [str(finished)])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    def test_interrupt_by_signal_keeps_the_finished_iterations(self):
        self.assertEqual(KernelSpecManager().get_kernel_spec("tapebook").interrupt_mode, "signal")
        self.interrupted_loop(lambda km, kc: km.interrupt_kernel())

    def test_interrupt_by_message_keeps_the_finished_iterations(self):
        def by_message(km, kc):
            request = kc.session.msg("interrupt_request", {})
            kc.control_channel.send(request)
            reply = kc.get_control_msg(timeout=support.TIMEOUT)
            self.assertEqual(reply["parent_header"]["msg_id"], request["header"]["msg_id"])
            self.assertEqual(reply["msg_type"], "interrupt_reply")
            self.assertEqual(reply["content"]["status"], "ok")
        self.interrupted_loop(by_message)

    def test_an_interrupt_request_between_cells_is_answered_and_stops_nothing(self):
        km, kc = start_new_kernel(kernel_name="tapebook")
        try:
            request = kc.session.msg("interrupt_request", {})
            kc.control_channel.send(request)
            reply = kc.get_control_msg(timeout=support.TIMEOUT)
            self.assertEqual(reply["content"]["status"], "ok")
            shown = []
            reply = kc.execute_interactive("repeat 5 < s = 1 >\ns", timeout=support.TIMEOUT, output_hook=shown.append)
            self.assertEqual(reply["content"]["status"], "ok")
            self.assertEqual([m["content"]["data"]["text/plain"] for m in shown if m["msg_type"] == "execute_result"], ["1"])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


class KernelSpecTests(unittest.TestCase):
    """`tapebook kernel install` writes kernel.json and the logos, PNG files of the sizes their names say."""

    def png_size(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        chunks, at = [], 8
        while at < len(data):
            length, kind = struct.unpack(">I4s", data[at:at + 8])
            body = data[at + 8:at + 8 + length]
            (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
            self.assertEqual(crc, zlib.crc32(kind + body), kind)
            chunks.append((kind, body))
            at += 12 + length
        self.assertEqual([k for k, _ in chunks], [b"IHDR", b"IDAT", b"IEND"])
        width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
        self.assertEqual((depth, colour), (8, 6))
        # zlib checks the Adler-32 sum; every row is its filter byte and 4 bytes a pixel.
        pixels = zlib.decompress(b"".join(body for k, body in chunks if k == b"IDAT"))
        self.assertEqual(len(pixels), height * (1 + 4 * width))
        rows = [pixels[r * (1 + 4 * width):(r + 1) * (1 + 4 * width)] for r in range(height)]
        self.assertEqual({row[0] for row in rows}, {0})
        # Opaque blue in the middle of the left edge, transparent in the corner, white on the glyph's bowl.
        middle = rows[height // 2]
        self.assertEqual(tuple(middle[1 + 4 * 1:1 + 4 * 2]), (0x00, 0x72, 0xB2, 255))
        self.assertEqual(rows[0][1 + 3], 0)
        return width, height

    def test_install_writes_kernel_json_and_png_logos_of_their_sizes(self):
        directory = os.path.join(os.environ["JUPYTER_PATH"], "kernels", "tapebook")
        self.assertEqual(sorted(os.listdir(directory)), ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"])
        self.assertEqual(self.png_size(os.path.join(directory, "logo-32x32.png")), (32, 32))
        self.assertEqual(self.png_size(os.path.join(directory, "logo-64x64.png")), (64, 64))
        spec = KernelSpecManager().get_kernel_spec("tapebook")
        self.assertEqual(spec.display_name, "tapebook")
        self.assertEqual(spec.language, "tape")
        self.assertEqual(spec.argv[-2:], ["-f", "{connection_file}"])

    def test_install_confined_writes_a_second_kernelspec(self):
        directory = os.path.join(os.environ["JUPYTER_PATH"], "kernels", "tapebook-confined")
        self.assertEqual(sorted(os.listdir(directory)), ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"])
        spec = KernelSpecManager().get_kernel_spec("tapebook-confined")
        self.assertEqual(spec.display_name, "tapebook (confined)")
        self.assertEqual(spec.argv[-3:], ["-f", "{connection_file}", "--confined"])


if __name__ == "__main__":
    unittest.main()
