"""Tests of the handler. Excluded from the zip (lbuild.toml: exclude = ["**/tests/**"]).

Run from examples/hello-lambda without installing anything (the pure-Python wheels in ./wheels
are importable straight from their zip files):

    python3 -m unittest discover -s hello/tests -t .
"""

import glob
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = sorted(glob.glob(os.path.join(EXAMPLE, "wheels", "*.whl")))

from hello.handler import handler  # noqa: E402


class HandlerTest(unittest.TestCase):
    def test_greets_the_default_name(self):
        result = handler({}, None)
        self.assertEqual(result["message"], "Hello, World!")
        self.assertEqual(result["versions"], {"lbuild-example-greet": "1.0.0", "lbuild-example-text": "0.2.0"})

    def test_greets_the_name_in_the_event(self):
        self.assertEqual(handler({"name": "lambda"}, None)["message"], "Hello, Lambda!")


if __name__ == "__main__":
    unittest.main()
