"""The tapebook kernel against jupyter_kernel_test, and its interrupt."""
import unittest

import support  # installs the kernelspec first
import jupyter_kernel_test
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


class InterruptTests(unittest.TestCase):
    """A long `repeat` cell stopped through the kernel's interrupt (SIGINT): the kernel lives on."""

    def test_interrupt_stops_a_long_loop_and_the_kernel_goes_on(self):
        km, kc = start_new_kernel(kernel_name="tapebook")
        try:
            kc.execute_interactive("count = 0", timeout=support.TIMEOUT)
            msg_id = kc.execute("repeat 1000000000 < count = count + 1 >")
            # The kernel clears its interrupt flag before it announces the cell: an interrupt sent after
            # execute_input stops this cell, whenever it arrives.
            while True:
                msg = kc.get_iopub_msg(timeout=support.TIMEOUT)
                if msg["msg_type"] == "execute_input" and msg["parent_header"].get("msg_id") == msg_id:
                    break
            km.interrupt_kernel()
            reply = kc.get_shell_msg(timeout=support.TIMEOUT)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = kc.get_shell_msg(timeout=support.TIMEOUT)
            # A loop stopped by Ctrl-C keeps its finished iterations and ends with a note (status ok); an
            # interrupt that lands before the loop starts is an error that says so.
            if reply["content"]["status"] == "error":
                self.assertIn("interrupted", reply["content"]["evalue"])
            else:
                self.assertEqual(reply["content"]["status"], "ok")
            self.assertTrue(km.is_alive())
            outputs = []
            reply = kc.execute_interactive("ge(count, 0)", timeout=support.TIMEOUT, output_hook=outputs.append)
            self.assertEqual(reply["content"]["status"], "ok")
            results = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
            self.assertEqual(results, ["1"])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    unittest.main()
