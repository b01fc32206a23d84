"""The GDAL view of an HTTP(S) href: ``/vsicurl/`` with the headers that may go where GDAL goes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from .. import gdal
from ..access import Access
from ..errors import AccessError
from ..retry import RetryPolicy, call_with_retries
from . import http_curl_options
from .http_answer import Answer
from .http_stream import raise_for_status
from .http_urls import (
    MAX_REDIRECTS,
    gdal_forwards_secrets,
    origin,
    portable_headers,
    redirect_target,
    signed_url_expiry,
)


class GdalView:
    """What :class:`~stac_asset.clients.HttpClient` hands GDAL: path and options per access.

    Its secrets stay on their origin: GDAL drops ``Authorization`` on a
    redirect to another origin but sends every other header on, so an access
    with such a secret gets its GDAL view from :meth:`gdal_access`, after one
    request that asks the server where the href leads.
    """

    name: ClassVar[str]
    timeout: float
    retry: RetryPolicy

    def _verify(self) -> bool | str:
        raise NotImplementedError

    def _send(self, access: Access, url: str, headers: Mapping[str, str]) -> Answer:
        raise NotImplementedError

    def gdal_options(self, headers: Mapping[str, str]) -> dict[str, str]:
        """GDAL options for reading over ``/vsicurl/`` with ``headers``."""
        options = gdal.network_options(self.timeout, self.retry.max_attempts)
        options["GDAL_HTTP_NETRC"] = "NO"
        # GDAL 3.10's default, pinned so a global YES cannot send Authorization elsewhere.
        options["CPL_VSIL_CURL_AUTHORIZATION_HEADER_ALLOWED_IF_REDIRECT"] = "IF_SAME_HOST"
        if headers:
            options["GDAL_HTTP_HEADERS"] = gdal.encode_headers(headers)
        # Certificates are checked as the byte view checks them.
        verify = self._verify()
        if isinstance(verify, str) and not http_curl_options.is_ca_directory(verify):
            options["GDAL_CURL_CA_BUNDLE"] = verify
        elif not verify:
            options["GDAL_HTTP_UNSAFESSL"] = "YES"
        return options

    def gdal_view(self, url: str, headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The GDAL path and options for reading ``url`` with ``headers``."""
        return f"/vsicurl/{url}", self.gdal_options(headers)

    def access_for_url(
        self,
        href: str,
        url: str,
        headers: Mapping[str, str],
        expires_at: datetime | None = None,
    ) -> Access:
        """Build the access for reading ``url`` with ``headers`` (for subclasses that sign).

        When the headers hold a secret GDAL would send on a redirect (see
        :meth:`gdal_target`), the GDAL view is left unfinished, with none of
        the secrets, for :meth:`gdal_access`: resolving sends no request.
        """
        pending = gdal_forwards_secrets(headers)
        if pending:
            path, options = self.gdal_view(url, portable_headers(headers))
        else:
            path, options, expires_at = self._final_gdal_view(href, url, headers, expires_at)
        return Access(
            href=href,
            client=self.name,
            vsi_path=path,
            gdal_options=options,
            url=url,
            headers=dict(headers),
            expires_at=expires_at,
            gdal_ready=not pending,
        )

    def gdal_access(self, access: Access) -> Access:
        """``access`` with the GDAL view of :meth:`gdal_target` (one request, if it takes any)."""
        if access.gdal_ready:
            return access
        assert access.url is not None, "an HTTP access always has a url"
        path, options, expires_at = self._final_gdal_view(
            access.href, access.url, access.headers, access.expires_at
        )
        return replace(
            access, vsi_path=path, gdal_options=options, expires_at=expires_at, gdal_ready=True
        )

    def _final_gdal_view(
        self, href: str, url: str, headers: Mapping[str, str], expires_at: datetime | None
    ) -> tuple[str, dict[str, str], datetime | None]:
        """GDAL's path and options for ``url``, and the expiry: a presigned target's, if sooner."""
        gdal_url, gdal_headers = self.gdal_target(href, url, headers)
        if gdal_url != url:
            signed = signed_url_expiry(gdal_url)
            if signed is not None and (expires_at is None or signed < expires_at):
                expires_at = signed
        path, options = self.gdal_view(gdal_url, gdal_headers)
        return path, options, expires_at

    def gdal_target(
        self, href: str, url: str, headers: Mapping[str, str]
    ) -> tuple[str, Mapping[str, str]]:
        """The URL and headers for GDAL's view of ``url``, so that no secret leaves its origin.

        GDAL drops ``Authorization`` on a redirect to another origin but sends
        every other header on. When ``headers`` hold another secret, ask the
        server where ``url`` leads (one small request; redirects followed on
        the same origin only): GDAL then reads the first URL on another
        origin, without the secrets, or ``url`` itself when it stays.
        """
        if not gdal_forwards_secrets(headers):
            return url, headers
        start = origin(url)
        hop = url
        for _ in range(MAX_REDIRECTS):
            probe = Access(href=href, client=self.name, vsi_path="", url=hop, headers=dict(headers))
            target = self._probe(probe)
            if target is None:
                return hop, headers
            if origin(target) != start:
                return target, portable_headers(headers)
            hop = target
        raise AccessError(href, self.name, f"more than {MAX_REDIRECTS} redirects")

    def _probe(self, access: Access) -> str | None:
        """Where ``access.url`` redirects to (asking for one byte), or None if it does not."""
        assert access.url is not None, "an HTTP access always has a url"
        url = access.url

        def ask() -> Answer:
            response = self._send(access, url, {"Range": "bytes=0-0"})
            response.close()
            if response.status_code in (408, 429) or response.status_code >= 500:
                raise_for_status(response, access.href, self.name)
            return response

        return redirect_target(call_with_retries(ask, self.retry), access.href, self.name)
