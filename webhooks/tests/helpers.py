"""Real parts for webhook tests: an HTTP receiver and a DNS server, both on 127.0.0.1."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dnslib import AAAA, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Receiver:
    """Answers each POST with the next of `statuses` (then 204) and keeps what it got."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                reply = b"x" * 5000 if status >= 500 else b""
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, host: str = "127.0.0.1", path: str = "/hook") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Zone(BaseResolver):
    """name -> addresses, changed by the test while the server runs; other names: NXDOMAIN."""

    def __init__(self):
        self.names: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.asked.append(name)
        if name not in self.names:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for address in self.names[name]:
            if request.q.qtype == QTYPE.A and ":" not in address:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=0))
            elif request.q.qtype == QTYPE.AAAA and ":" in address:
                reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(address), ttl=0))
        return reply


class Nameserver:
    def __init__(self):
        self.zone = Zone()
        self.server = DNSServer(
            self.zone,
            address="127.0.0.1",
            port=0,
            logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False),
        )
        self.port = self.server.server.server_address[1]

    def __enter__(self):
        self.server.start_thread()
        return self

    def __exit__(self, *exc):
        self.server.stop()
        self.server.server.server_close()
