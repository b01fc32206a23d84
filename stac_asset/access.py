"""The result of resolving an href: how GDAL reaches it and how its bytes are fetched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ._secrets import mask_mapping, mask_url


@dataclass(frozen=True, repr=False)
class Access:
    """How one asset href is reached, computed once by a client and used by everything else.

    The *GDAL view* is :attr:`vsi_path` plus :attr:`gdal_options`: what
    ``rasterio.open`` gets inside ``stac_asset.gdal.rasterio_env(gdal_options)``
    (that is ``rasterio.Env(**gdal_options)``, but for AWS keys, which
    rasterio takes only through a session). The *byte view* is :attr:`url`
    plus :attr:`headers` for HTTP(S), :attr:`bucket` and :attr:`key` for
    object stores, or :attr:`path` for local files.

    An ``Access`` may carry secrets (signed URLs, tokens in headers or GDAL
    options); its ``repr()`` and ``str()`` never show them. It is picklable, so
    it can be shipped to worker processes, but it expires: see
    :attr:`expires_at`.

    A client's ``resolve`` may leave the GDAL view unfinished when finishing
    it takes a request (see :attr:`gdal_ready`): the byte view never needs it,
    so downloads do not pay for it. :func:`stac_asset.resolve`,
    :func:`stac_asset.open`, windowed copies, :class:`stac_asset.CubeAccess`
    and ``stac-asset vsi`` finish it with the client's
    :meth:`~stac_asset.Client.gdal_access`.
    """

    href: str
    """The original href, untouched (never rewritten with secrets)."""

    client: str
    """The name of the client that produced this access, e.g. ``"http"``."""

    vsi_path: str
    """The path given to ``rasterio.open``, e.g. ``/vsicurl/https://...`` or ``/vsis3/b/k``."""

    gdal_options: dict[str, str] = field(default_factory=dict)
    """GDAL configuration options, for ``stac_asset.gdal.rasterio_env(gdal_options)``."""

    url: str | None = None
    """The URL the bytes are fetched from (possibly signed)."""

    headers: dict[str, str] = field(default_factory=dict)
    """HTTP headers to send with :attr:`url` (possibly carrying credentials)."""

    path: str | None = None
    """The local path, for files on a filesystem."""

    bucket: str | None = None
    """The bucket or container, for object stores."""

    key: str | None = None
    """The object key or blob name, for object stores."""

    extra: dict[str, str] = field(default_factory=dict)
    """Client-specific, non-secret settings of the byte view (e.g. an S3 region)."""

    expires_at: datetime | None = None
    """When the signed material in this access stops working; ``None`` if it does not."""

    gdal_ready: bool = True
    """Whether the GDAL view is final. When False, :attr:`vsi_path` and
    :attr:`gdal_options` hold no secret (GDAL would be refused rather than
    send one to the wrong host): ``client.gdal_access(access)`` finishes them."""

    def expires_within(self, margin: timedelta = timedelta(minutes=2)) -> bool:
        """Whether this access expires within ``margin`` from now (and should be re-resolved)."""
        if self.expires_at is None:
            return False
        return self.expires_at - margin <= datetime.now(timezone.utc)

    def __repr__(self) -> str:
        fields = [
            f"href={mask_url(self.href)!r}",
            f"client={self.client!r}",
            f"vsi_path={mask_url(self.vsi_path)!r}",
        ]
        if self.gdal_options:
            fields.append(f"gdal_options={mask_mapping(self.gdal_options)!r}")
        if self.url is not None:
            fields.append(f"url={mask_url(self.url)!r}")
        if self.headers:
            fields.append(f"headers={mask_mapping(self.headers)!r}")
        for name in ("path", "bucket", "key"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        if self.extra:
            fields.append(f"extra={mask_mapping(self.extra)!r}")
        if self.expires_at is not None:
            fields.append(f"expires_at={self.expires_at.isoformat()!r}")
        if not self.gdal_ready:
            fields.append("gdal_ready=False")
        return f"Access({', '.join(fields)})"

    __str__ = __repr__
