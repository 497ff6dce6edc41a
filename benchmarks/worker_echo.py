"""A stand-in benchmark worker for ``benchmarks/test_common.py``: ``--worker JSON`` prints
``ECHO_RESULT`` and the configuration back, or fails on request (``{"fail": "message"}``)."""

import argparse
import json
import sys

MARK = "ECHO_RESULT "

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    cfg = json.loads(parser.parse_args().worker)
    if "fail" in cfg:
        sys.exit(f"failing as asked: {cfg['fail']}")
    print("noise before the result")
    print(MARK + json.dumps({"echo": cfg}), flush=True)
