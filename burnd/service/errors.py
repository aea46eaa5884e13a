"""BurndError → org.burnd.Burnd1.Error.<Name>: the class's ``dbus_name``, its message as is."""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, TypeVar

from dbus_fast import DBusError

from burnd.errors import DBUS_ERROR_PREFIX, BurndError

log = logging.getLogger("burnd.service")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def to_dbus(exc: BurndError) -> DBusError:
    return DBusError(exc.dbus_error, str(exc))


def dbus_errors(fn: F) -> F:
    """Wrap a coroutine method so burnd errors reach the caller as named D-Bus errors and
    anything unexpected as org.burnd.Burnd1.Error.Failed (logged, without a traceback to the peer)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except DBusError:
            raise
        except BurndError as exc:
            raise to_dbus(exc) from exc
        except Exception as exc:
            log.exception("%s failed", fn.__name__)
            raise DBusError(DBUS_ERROR_PREFIX + "Failed",
                            f"internal error in {fn.__name__} ({type(exc).__name__}); see burnd's log") from exc

    return wrapper  # type: ignore[return-value]
