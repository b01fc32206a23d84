"""What ``POST /_control/config`` sets on every peer: faults and latency, one meaning."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

_SCALAR_TYPES: dict[str, tuple[type, ...]] = {
    "latency_ms": (int, float),
    "error_rate": (int, float),
    "error_status": (int,),
    "retry_after": (int, type(None)),
    "cut_rate": (int, float),
    "drop_rate": (int, float),
    "seed": (int,),
    "ignore_range": (bool,),
    "idle_close_s": (int, float, type(None)),
    "framing": (str,),
    "rate_cap_bps": (int, float, type(None)),
    "max_in_flight": (int, type(None)),
}
_MAPPING_VALUE_TYPES: dict[str, type] = {
    "fail_paths": int,
    "require_headers": dict,
    "fail_first_n": int,
    "cut_first_n": int,
    "drop_first_n": int,
    "redirects": str,
}


@dataclass(frozen=True)
class Config:
    """Faults and latency; the defaults mean a well-behaved server."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: int | None = None
    cut_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    ignore_range: bool = False
    # Close a keep-alive connection left idle this long (as nginx's keepalive_timeout).
    idle_close_s: float | None = None
    # How a body is delimited: "length" (Content-Length), "chunked", or
    # "close" (no length: the body ends when the server closes the connection).
    framing: str = "length"
    # Send each response body no faster than this many bytes per second (as an
    # object store caps each connection).
    rate_cap_bps: float | None = None
    # Answer 503 (with Retry-After: retry_after, if set) to a request that
    # arrives while this many are already being answered (a polite host's throttle).
    max_in_flight: int | None = None
    fail_paths: dict[str, int] = field(default_factory=dict)
    require_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    fail_first_n: dict[str, int] = field(default_factory=dict)
    # Send half of the body of the first n responses of a path, then close.
    cut_first_n: dict[str, int] = field(default_factory=dict)
    # Close the connection without answering the first n requests of a path.
    drop_first_n: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> Config:
        """Validate a decoded JSON object and build a config from it."""
        if not isinstance(data, dict):
            raise ValueError("config must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        for key, value in data.items():
            if key in _SCALAR_TYPES:
                if not isinstance(value, _SCALAR_TYPES[key]):
                    raise ValueError(f"{key} has the wrong type: {value!r}")
            elif not isinstance(value, dict) or not all(
                isinstance(v, _MAPPING_VALUE_TYPES[key]) for v in value.values()
            ):
                kind = _MAPPING_VALUE_TYPES[key].__name__
                raise ValueError(f"{key} must map paths to {kind} values")
        config = cls(**data)
        for name in ("error_rate", "cut_rate", "drop_rate"):
            if not 0.0 <= getattr(config, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if config.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if config.rate_cap_bps is not None and config.rate_cap_bps <= 0:
            raise ValueError("rate_cap_bps must be positive")
        if config.max_in_flight is not None and config.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if config.framing not in ("length", "chunked", "close"):
            raise ValueError("framing must be length, chunked or close")
        return config
