"""An OTLP/HTTP receiver for errwatch's tests: decodes what it is sent with the official
OpenTelemetry protobuf definitions (the opentelemetry-proto package) and appends each request,
as JSON, to a file, one line per request: {"signal": "metrics"|"logs", "body": {...}}.

Usage: otlp_receiver.py OUTPUT [STATUS ...]
The first requests are answered with the STATUS codes given, in order (429 and 503 with
retry-after: 1), the rest with 200. It prints the port it listens on (127.0.0.1, chosen by
the system), then serves until killed.
"""
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

# A parent that ignored SIGTERM passes that on; be stoppable.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
output = sys.argv[1]
script = [int(status) for status in sys.argv[2:]]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if script:
            status = script.pop(0)
            self.send_response(status)
            if status in (429, 503):
                self.send_header("retry-after", "1")
            self.send_header("content-length", "0")
            self.end_headers()
            with open(output, "a") as file:
                file.write(json.dumps({"refused": status, "path": self.path}) + "\n")
            return
        kinds = {"/v1/metrics": ("metrics", ExportMetricsServiceRequest), "/v1/logs": ("logs", ExportLogsServiceRequest)}
        if self.path not in kinds or self.headers.get("content-type") != "application/x-protobuf":
            self.send_response(400)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        signal, message = kinds[self.path]
        request = message()
        request.ParseFromString(body)
        headers = {name.lower(): value for name, value in self.headers.items()}
        with open(output, "a") as file:
            file.write(json.dumps({"signal": signal, "headers": headers, "body": MessageToDict(request)}) + "\n")
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *arguments):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
