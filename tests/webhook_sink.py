#!/usr/bin/env python3
"""A stand-in for a Slack incoming webhook, for end-to-end alert tests:
every POST body is appended as one JSON line to --out (non-JSON bodies are
wrapped as {"raw": "..."}), answered 200 "ok". Standard library only.
  python3 tests/webhook_sink.py --port 0 --out /tmp/alerts.jsonl --port-file P
With --port 0 the chosen port is written to --port-file (atomically) once
listening, so a test can start it without racing for a port."""
import argparse, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
MAX_BODY = 1 << 20


class Handler(BaseHTTPRequestHandler):
    out_path = None
    status = 200

    def do_POST(self):  # noqa: N802 - http.server naming
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            self.send_response(413)
            self.end_headers()
            return
        body = self.rfile.read(n).decode("utf-8", "replace")
        try:
            rec = json.loads(body)
        except ValueError:
            rec = {"raw": body}
        with LOCK, open(self.out_path, "a") as f:
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self):  # noqa: N802 - liveness for wait_for
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # quiet: tests read the out file
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--out", required=True, help="JSON lines file (appended)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--status", type=int, default=200, help="HTTP status to answer")
    a = ap.parse_args()
    Handler.out_path, Handler.status = a.out, a.status
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
