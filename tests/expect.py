"""`Expect`: collects the calls that did not raise what they should, so that
one error test reports every function and value at once. Shared by the
error tests of several input kinds (tests/ is on sys.path: its conftest.py
sits in a directory without __init__.py)."""


def _names(exc):
    return exc.__name__ if isinstance(exc, type) else " or ".join(e.__name__ for e in exc)


class Expect:
    def __init__(self):
        self.fails = []

    def raises(self, exc, f, *args, what="", check=None, **kw):
        """f(*args, **kw) must raise exc (a class or a tuple of them), and
        check(exception), if given, return None; returns the exception."""
        try:
            r = f(*args, **kw)
        except exc as e:
            if check is not None:
                msg = check(e)
                if msg:
                    self.fails.append(f"{what}: {msg}")
            return e
        except Exception as e:  # noqa: BLE001
            self.fails.append(f"{what}: raised {type(e).__name__}: {e}, want {_names(exc)}")
            return None
        self.fails.append(f"{what}: no exception (returned {r!r}), want {_names(exc)}")
        return None

    def done(self):
        assert not self.fails, "\n".join(self.fails[:40]) + (
            f"\n... {len(self.fails)} in all" if len(self.fails) > 40 else "")
