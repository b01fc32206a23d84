"""Handle on a :mod:`tests.s3.moto_server` process: moto's S3, IAM and STS on loopback."""

from __future__ import annotations

import json
import urllib.request
import uuid
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from tests.peers.process import PeerProcess

START_TIMEOUT = 20.0
CONTROL_TIMEOUT = 10.0
REGION = "us-east-1"

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


class MotoPeer:
    """moto in server mode in a child process, with a request log and an auth switch.

    With auth off (the default) moto ignores signatures but still answers
    unsigned requests for private objects with 403. With auth on, every
    request must be signed by a key moto's IAM knows (unsigned reads fail).
    """

    def __init__(self) -> None:
        self.admin: dict[str, str] = {}
        self._peer = PeerProcess("tests.s3.moto_server", ["--port", "0"])

    @classmethod
    def start(cls, timeout: float = START_TIMEOUT) -> MotoPeer:
        """Launch moto and wait until it is listening; create an admin user with an access key."""
        peer = cls()
        peer._peer.start(timeout)
        peer._create_admin()
        return peer

    @property
    def port(self) -> int:
        """The port moto listens on."""
        return self._peer.port

    @property
    def endpoint_url(self) -> str:
        """The endpoint boto3 reaches moto at."""
        return f"http://127.0.0.1:{self.port}"

    def boto3_client(self, service: str = "s3", **credentials: str) -> Any:
        """A client for moto, signing with the admin key unless other credentials are given."""
        keys = credentials or self.admin
        return boto3.Session(**keys).client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            config=Config(retries={"total_max_attempts": 1}),
        )

    def _create_admin(self) -> None:
        iam = self.boto3_client("iam", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="admin")
        policy = iam.create_policy(PolicyName="allow-all", PolicyDocument=_ALLOW_ALL)
        self.policy_arn = policy["Policy"]["Arn"]
        iam.attach_user_policy(UserName="admin", PolicyArn=self.policy_arn)
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def create_role(self, policy: dict[str, Any] | None = None) -> str:
        """A new role the admin user may assume, allowed everything (or ``policy``); its ARN."""
        iam = self.boto3_client("iam")
        admin_arn = iam.get_user(UserName="admin")["User"]["Arn"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}
            ],
        }
        role_name = f"reader-{uuid.uuid4().hex[:8]}"
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
        if policy is None:
            iam.attach_role_policy(RoleName=role_name, PolicyArn=self.policy_arn)
        else:
            iam.put_role_policy(
                RoleName=role_name, PolicyName="only", PolicyDocument=json.dumps(policy)
            )
        return str(role["Role"]["Arn"])

    def set_auth(self, enabled: bool) -> None:
        """Turn moto's signature and IAM checks on or off."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset-auth",
            data=b"0" if enabled else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with _OPENER.open(request, timeout=CONTROL_TIMEOUT):
            pass

    def log(self) -> list[dict[str, Any]]:
        """Every request moto received since the last reset (no signatures or secrets)."""
        return self._control("GET", "log")  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Clear the request log and the faults."""
        self._control("POST", "reset")

    def fail_next(self, method: str, query: str, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests of ``method`` whose query has ``query`` with
        ``status`` (moto never sees them)."""
        self._control(
            "POST", "faults", [{"method": method, "query": query, "count": count, "status": status}]
        )

    def expire_tokens(self, issued: bool = True, later: bool = False) -> None:
        """Make S3 answer ``ExpiredToken`` for temporary keys.

        For those STS issued so far (``issued``), and those it issues from now on (``later``).
        """
        self._control("POST", "expire-tokens", {"issued": issued, "later": later})

    def token_requests(self) -> int:
        """STS requests (AssumeRole...) moto answered since the last reset."""
        return sum(1 for entry in self.log() if entry["service"] == "sts")

    def gets(self, href: str) -> list[dict[str, Any]]:
        """Logged GET requests for ``s3://bucket/key`` (or ``/bucket/key``)."""
        path = "/" + href.removeprefix("s3://").lstrip("/")
        return [e for e in self.log() if e["path"] == path and e["method"] == "GET"]

    def set_bucket_regions(self, regions: dict[str, str]) -> None:
        """Make these buckets refuse requests signed for another region, as S3 does."""
        self._control("POST", "bucket-regions", regions)

    def _control(self, method: str, name: str, payload: object = None) -> Any:
        request = urllib.request.Request(
            f"{self.endpoint_url}/_peer/{name}",
            data=json.dumps(payload).encode() if method == "POST" else None,
        )
        request.method = method
        with _OPENER.open(request, timeout=CONTROL_TIMEOUT) as response:
            return json.load(response)

    def stop(self) -> None:
        """Terminate the server process (killing it if it does not exit)."""
        self._peer.stop()

    def __enter__(self) -> MotoPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
