"""The `histentropy bench` command line: usage and missing extras."""
import importlib.util

import pytest

from histentropy.__main__ import main as cli
from histentropy.bench import main as bench_main


def _hide(monkeypatch, missing):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == missing else real(name, *a, **k))


def test_plot_without_matplotlib_names_the_extra(monkeypatch, capsys):
    _hide(monkeypatch, "matplotlib")
    with pytest.raises(SystemExit) as exc:
        bench_main(["--quick", "--suite", "streaming", "--plot", "out.png"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "histentropy[bench]" in err


def test_bench_without_scipy_names_the_extra(monkeypatch, capsys):
    _hide(monkeypatch, "scipy")
    with pytest.raises(SystemExit) as exc:
        bench_main(["--quick"])
    assert exc.value.code == 2
    assert "histentropy[bench]" in capsys.readouterr().err


def test_unknown_command_and_help(capsys):
    assert cli(["nope"]) == 2
    assert "unknown command" in capsys.readouterr().err
    assert cli(["--help"]) == 0
    assert "bench" in capsys.readouterr().out
