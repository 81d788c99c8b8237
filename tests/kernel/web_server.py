#!/usr/bin/env python3
"""A web server for the test bed: answers every GET with its node id in an X-SERVER header,
as the platform's Apache servers do. /slow?s=N answers after N seconds, to hold a connection.
HTTP/1.1: a client may send several requests on one connection (the failover test does)."""
import http.server
import sys
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    node_id = "0"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if self.path.startswith("/slow"):
            time.sleep(float(query.get("s", ["5"])[0]))
        body = f"served by node {self.node_id}\n".encode()
        self.send_response(200)
        self.send_header("X-SERVER", self.node_id)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    Handler.node_id = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2]) if len(sys.argv) > 2 else 80), Handler)
    server.serve_forever()
