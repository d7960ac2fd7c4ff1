"""Time arithmetic on the contract's timestamps (milliseconds since the Unix
epoch, UTC). A plugin's only clock is `context.now`; `time.time()` and
`datetime.now()` read the same frozen instant inside a component."""

import datetime as _dt

MILLIS_PER_DAY = 86_400_000


def days_between(earlier: int, later: int) -> int:
    """Whole days from `earlier` to `later`, rounded down; negative when
    `later` is before `earlier`."""
    return (later - earlier) // MILLIS_PER_DAY


def to_datetime(millis: int) -> _dt.datetime:
    """A timestamp as an aware UTC datetime."""
    return _dt.datetime.fromtimestamp(millis / 1000, tz=_dt.timezone.utc)


def to_millis(moment: _dt.datetime) -> int:
    """An aware datetime as a timestamp (naive ones are read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return int(moment.timestamp() * 1000)
