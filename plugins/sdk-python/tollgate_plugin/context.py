"""`Context`: the decision's time, the binding's configuration (parsed into
the hook's config type), the binding name and the platform's TrackId."""

from typing import Any, Generic, Optional, TypeVar

from .config import parse_config

C = TypeVar("C")
_UNPARSED = object()


class Context(Generic[C]):
    """What the host supplies besides the request.

    - `now`: the decision's time, ms since the Unix epoch (UTC)
    - `config`: the binding's configuration parsed into the type given to
      the hook decorator (a dict without one); parsed on first use, a
      mismatch raises `ConfigError` (reported as `invalid-config`)
    - `config_json`: the configuration as JSON text
    - `binding`: the binding's name; `track_id`: the platform's TrackId
    - `schema`: the config type (set by the hook decorator)
    """

    def __init__(self, now: int, config_json: str, binding: str, track_id: str, schema: Any = None):
        self.now = now
        self.config_json = config_json
        self.binding = binding
        self.track_id = track_id
        self.schema = schema
        self._config: Any = _UNPARSED

    @property
    def config(self) -> C:
        if self._config is _UNPARSED:
            self._config = parse_config(self.config_json, self.schema)
        return self._config

    def with_schema(self, schema: Optional[type]) -> "Context":
        """This context with its configuration read as `schema`."""
        return Context(self.now, self.config_json, self.binding, self.track_id, schema)

    def __repr__(self) -> str:
        return f"Context(now={self.now}, config_json={self.config_json!r}, binding={self.binding!r})"
