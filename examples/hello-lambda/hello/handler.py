"""Lambda handler of the hello-lambda example (handler setting: hello.handler.handler).

It imports the two dependencies from requirements.txt and reads settings.json, which the bundle
puts at the root of the zip (lbuild.toml: files = { "settings.json" = "settings.json" }), one
directory above this package.
"""

import json
import os

import lbuild_example_text
from lbuild_example_greet import __version__ as greet_version
from lbuild_example_greet import greet

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

with open(os.path.join(PACKAGE_ROOT, "settings.json"), encoding="utf-8") as settings_file:
    SETTINGS = json.load(settings_file)


def handler(event, context):
    """Greets `event["name"]` (default from settings.json); returns JSON-able data."""
    name = (event or {}).get("name") or SETTINGS["default_name"]
    return {
        "message": greet(name, SETTINGS["greeting"]),
        "versions": {
            "lbuild-example-greet": greet_version,
            "lbuild-example-text": lbuild_example_text.__version__,
        },
        "request_id": getattr(context, "aws_request_id", None),
    }
