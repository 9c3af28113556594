"""The reference control panel: implements the processing-module contract (see
shared/src/panel.rs) for every product type, with finite capacity, failures on demand, and a
record of the calls it received. Loopback only; standard library only.

Usage: panel.py [--port 8700] [--capacity 100] [--parent-pid PID]

Operations: POST {prefix}/{product_type}/operations with the operation JSON. `prefix` (any
path, possibly empty) names an independent panel, so tests running side by side do not share
capacity, failures or records.
- 200 {"operation_id", "result": "done"}; an operation_id seen before answers its first answer
  again without doing anything.
- 409 {"error": "insufficient_resources"} when an activation finds the product type full.
- the status set by a failure order, with {"error": "injected failure"}.

Control (same prefix):
- POST {prefix}/control/capacity {"vps": 0, ...}: services each product type can host.
- POST {prefix}/control/fail {"product_type": "vps", "count": 2, "status": 500}: the next
  `count` operations of that type fail (count -1: until told otherwise).
- GET  {prefix}/control/calls: every operation call received, in order.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from parent_watch import exit_with_parent

PRODUCT_TYPES = ("vps", "shared_hosting", "dedicated", "domain", "ssl", "vdc")
LOCK = threading.Lock()
PANELS = {}
DEFAULT_CAPACITY = 100


def panel(prefix):
    if prefix not in PANELS:
        PANELS[prefix] = {
            "capacity": {t: DEFAULT_CAPACITY for t in PRODUCT_TYPES},
            "hosted": {t: set() for t in PRODUCT_TYPES},
            "failures": {},
            "answers": {},
            "calls": [],
        }
    return PANELS[prefix]


def operate(state, product_type, op):
    """Carries an operation out; answers (status, body)."""
    op_id = op.get("operation_id")
    if not op_id or op.get("operation") is None:
        return 400, {"error": "operation_id and operation are required"}
    if op_id in state["answers"]:
        return state["answers"][op_id]
    failure = state["failures"].get(product_type)
    if failure and failure["count"] != 0:
        if failure["count"] > 0:
            failure["count"] -= 1
        return failure["status"], {"error": "injected failure"}
    hosted = state["hosted"][product_type]
    service = op.get("service_id")
    if op["operation"] == "activation" and service not in hosted:
        if len(hosted) >= state["capacity"][product_type]:
            answer = (409, {"error": "insufficient_resources"})
            state["answers"][op_id] = answer
            return answer
        hosted.add(service)
    if op["operation"] == "deletion":
        hosted.discard(service)
    answer = (200, {"operation_id": op_id, "result": "done"})
    state["answers"][op_id] = answer
    return answer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None

    def route(self):
        parts = self.path.split("?")[0].rstrip("/").split("/")
        return "/".join(parts[:-2]), parts[-2], parts[-1]

    def do_GET(self):
        prefix, section, name = self.route()
        if (section, name) != ("control", "calls"):
            return self.answer(404, {"error": "no such route"})
        with LOCK:
            return self.answer(200, {"calls": panel(prefix)["calls"]})

    def do_POST(self):
        prefix, section, name = self.route()
        body = self.body()
        if not isinstance(body, dict):
            return self.answer(400, {"error": "a JSON object is required"})
        with LOCK:
            state = panel(prefix)
            if section in PRODUCT_TYPES and name == "operations":
                status, answer = operate(state, section, body)
                state["calls"].append({"product_type": section, "request": body, "status": status})
                return self.answer(status, answer)
            if (section, name) == ("control", "capacity"):
                state["capacity"].update({t: int(n) for t, n in body.items() if t in PRODUCT_TYPES})
                return self.answer(200, {"capacity": state["capacity"]})
            if (section, name) == ("control", "fail"):
                state["failures"][body.get("product_type")] = {
                    "count": int(body.get("count", 1)),
                    "status": int(body.get("status", 500)),
                }
                return self.answer(200, {"failures": state["failures"]})
        return self.answer(404, {"error": "no such route"})


def main():
    global DEFAULT_CAPACITY
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the panel listens on loopback only")
    DEFAULT_CAPACITY = args.capacity
    if args.parent_pid:
        exit_with_parent(args.parent_pid)
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
