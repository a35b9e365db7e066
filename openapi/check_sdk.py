"""`make sdk-check`: the contract generates a clean Python SDK.

openapi-python-client exits 0 even when it leaves operations or models out (it only prints
warnings), so this generates into a temporary directory, fails on any warning, then imports
the generated package and checks that every operation of the contract became a function.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTRACT = HERE / "openapi.json"
CONFIG = HERE / "python-client.yaml"
PACKAGE = "marketplace_sdk"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def main() -> int:
    generator = Path(sys.executable).with_name("openapi-python-client")
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            str(generator),
            "generate",
            "--path", str(CONTRACT),
            "--meta", "none",
            "--config", str(CONFIG),
            "--output-path", str(Path(tmp) / PACKAGE),
        ]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        output = run.stdout + run.stderr
        if run.returncode != 0 or re.search(r"warning", output, re.IGNORECASE):
            print(output)
            print(f"openapi-python-client: exit {run.returncode}, the SDK is not clean")
            return 1
        sys.path.insert(0, tmp)
        contract = json.loads(CONTRACT.read_text())
        missing = []
        for item in contract["paths"].values():
            for operation in item.values():
                tag = snake(operation["tags"][0].replace(" ", "_"))
                module = f"{PACKAGE}.api.{tag}.{snake(operation['operationId'])}"
                try:
                    functions = importlib.import_module(module)
                except ImportError:
                    missing.append(module)
                    continue
                if not callable(getattr(functions, "sync_detailed", None)):
                    missing.append(f"{module}.sync_detailed")
        if missing:
            print("not generated:\n  " + "\n  ".join(missing))
            return 1
        count = sum(len(item) for item in contract["paths"].values())
        print(f"SDK generated cleanly: {count} operations, each a function")
    return 0


if __name__ == "__main__":
    sys.exit(main())
