"""moto's server (S3, IAM, STS) in its own process, with a server-side request log.

Run as ``python -m tests.s3.moto_server``: binds a free loopback port, prints
``READY <port>`` and serves until terminated. Every request is logged (method,
path, query, ``Range``, ``x-amz-request-payer``, ``x-amz-copy-source``, the
signing key id, region and service, the status) at ``GET /_peer/log``; ``POST
/_peer/reset`` clears the log, the faults and the expired keys. The log never
holds signatures or secrets. ``POST /_peer/bucket-regions`` with ``{"bucket":
"region"}`` makes those buckets answer requests signed for another region as S3
does (400 AuthorizationHeaderMalformed naming the right region), which moto
itself does not. ``POST /_peer/faults`` with a list of ``{"method": ...,
"query": ..., "count": n, "status": s}`` answers the next ``n`` requests of
that method whose query string contains ``query`` with ``s`` (an S3
``ServiceUnavailable`` error) instead of passing them to moto. ``POST
/_peer/expire-tokens`` with ``{"issued": true}`` makes every temporary key STS
issued so far answer 400 ``ExpiredToken`` as S3 does for expired credentials
(moto itself never checks their expiry); with ``{"later": true}``, every key
issued from then on too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/")
_ISSUED_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")


class NoDelayHandler(WSGIRequestHandler):
    """Send small responses at once, as real servers do (no Nagle stalls)."""

    disable_nagle_algorithm = True

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class RequestLog:
    """WSGI middleware in front of moto: records each request, serves /_peer/ controls."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.entries: list[dict[str, Any]] = []
        self.bucket_regions: dict[str, str] = {}
        self.faults: list[dict[str, Any]] = []
        self.issued: set[str] = set()
        self.expired: set[str] = set()
        self.expire_later = False
        self.lock = threading.Lock()

    @staticmethod
    def wrong_region(start_response: Callable[..., Any], sent: str, home: str) -> list[bytes]:
        """What S3 answers a request signed for another region than its bucket's."""
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>\n<Error>"
            "<Code>AuthorizationHeaderMalformed</Code>"
            f"<Message>The authorization header is malformed; the region '{sent}' is wrong; "
            f"expecting '{home}'</Message><Region>{home}</Region>"
            "<RequestId>PEER</RequestId><HostId>PEER</HostId></Error>"
        ).encode()
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("x-amz-bucket-region", home),
            ],
        )
        return [body]

    def fault_for(self, method: str, query: str) -> int | None:
        """The status to answer with, if a configured fault takes this request."""
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["method"] == method and fault["query"] in query:
                    fault["count"] -= 1
                    return int(fault["status"])
        return None

    @staticmethod
    def unavailable(
        environ: dict[str, Any], start_response: Callable[..., Any], status: int
    ) -> list[bytes]:
        """An S3 error answer, after reading the request body (the connection stays usable)."""
        length = environ.get("CONTENT_LENGTH")
        if length:
            environ["wsgi.input"].read(int(length))
        elif environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream
            environ["wsgi.input"].read()
        body = (
            b"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>ServiceUnavailable</Code>"
            b"<Message>injected fault</Message><RequestId>PEER</RequestId></Error>"
        )
        start_response(
            f"{status} Injected",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def expired_token(start_response: Callable[..., Any]) -> list[bytes]:
        """What S3 answers a request signed with expired temporary credentials."""
        body = (
            b"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>ExpiredToken</Code>"
            b"<Message>The provided token has expired.</Message>"
            b"<RequestId>PEER</RequestId></Error>"
        )
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def record_issued(self, body: Iterable[bytes]) -> list[bytes]:
        """Note the temporary keys an STS answer issues; the answer, unchanged."""
        chunks = list(body)
        keys = {key.decode() for key in _ISSUED_KEY.findall(b"".join(chunks))}
        with self.lock:
            self.issued |= keys
            if self.expire_later:
                self.expired |= keys
        return chunks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_peer/"):
            return self.control(environ, start_response, path[len("/_peer/") :])
        query = environ.get("QUERY_STRING", "")
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "")) or _CREDENTIAL.search(
            query.replace("%2F", "/")
        )
        entry: dict[str, Any] = {
            "method": environ.get("REQUEST_METHOD"),
            "path": path,
            "query": query,
            "range": environ.get("HTTP_RANGE"),
            "request_payer": environ.get("HTTP_X_AMZ_REQUEST_PAYER"),
            "copy_source": environ.get("HTTP_X_AMZ_COPY_SOURCE"),
            "key_id": match.group(1) if match else None,
            "region": match.group(2) if match else None,
            "service": match.group(3) if match else None,
            "status": None,
        }
        temporary = bool(environ.get("HTTP_X_AMZ_SECURITY_TOKEN")) or (
            "X-Amz-Security-Token=" in query
        )
        with self.lock:
            self.entries.append(entry)
            home = self.bucket_regions.get(path.lstrip("/").split("/", 1)[0])
        if home is not None and entry["region"] not in (None, home):
            entry["status"] = 400
            return self.wrong_region(start_response, entry["region"], home)
        with self.lock:
            expired = temporary and entry["key_id"] in self.expired
        if expired:
            entry["status"] = 400
            return self.expired_token(start_response)
        fault = self.fault_for(entry["method"], query)
        if fault is not None:
            entry["status"] = fault
            return self.unavailable(environ, start_response, fault)

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            entry["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        answer = self.app(environ, recording_start_response)
        return self.record_issued(answer) if entry["service"] == "sts" else answer

    def control(
        self, environ: dict[str, Any], start_response: Callable[..., Any], name: str
    ) -> list[bytes]:
        with self.lock:
            if name == "log":
                body: Any = list(self.entries)
            elif name == "reset" and environ["REQUEST_METHOD"] == "POST":
                self.entries.clear()
                self.faults = []
                self.expired.clear()
                self.expire_later = False
                body = {"status": "ok"}
            elif name == "expire-tokens" and environ["REQUEST_METHOD"] == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                wanted = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if wanted.get("issued"):
                    self.expired |= self.issued
                self.expire_later = bool(wanted.get("later"))
                body = {"status": "ok"}
            elif name == "faults" and environ["REQUEST_METHOD"] == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                self.faults = json.loads(environ["wsgi.input"].read(length) or b"[]")
                body = {"status": "ok"}
            elif name == "bucket-regions" and environ["REQUEST_METHOD"] == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                self.bucket_regions = json.loads(environ["wsgi.input"].read(length) or b"{}")
                body = {"status": "ok"}
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [b'{"error": "unknown control"}']
        data = json.dumps(body).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = RequestLog(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=NoDelayHandler)
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(f"READY {server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
