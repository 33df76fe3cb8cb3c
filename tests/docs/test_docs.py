"""The examples in the README and the public docstrings run as written."""
import doctest
from pathlib import Path

import pytest

import histentropy
import histentropy.dask
from histentropy import _api, _family_api, _joint_api, _pairwise_api

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("module", [_api, _family_api, _joint_api, _pairwise_api, histentropy.dask],
                         ids=lambda m: m.__name__)
def test_api_docstrings(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def _readme_examples():
    """The ```python blocks of the README that hold >>> examples, in order."""
    blocks = README.read_text().split("```python")[1:]
    return "\n".join(b.split("```", 1)[0] for b in blocks if ">>>" in b)


@pytest.mark.skipif(not README.exists(), reason="README.md not beside tests/")
def test_readme_examples():
    pytest.importorskip("scipy")
    test = doctest.DocTestParser().get_doctest(_readme_examples(), {}, "README.md",
                                               str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_readme_quick_start_has_two_commands():
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert commands == ['pip install ".[bench]" && histentropy bench',
                        'pip install ".[test]" && pytest']
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_public_names():
    for name in ("entropy", "cross_entropy", "kl_divergence", "decompose",
                 "Decomposition", "entropy_from_logits", "kl_divergence_from_logits",
                 "cross_entropy_from_logits", "StreamingHistogram", "get_include",
                 "cpu_path", "js_divergence", "js_distance", "hellinger_distance",
                 "total_variation", "jeffreys_divergence", "population_stability_index",
                 "chi_square_divergence", "renyi_entropy", "renyi_divergence"):
        assert name in histentropy.__all__ and hasattr(histentropy, name)
    assert histentropy.population_stability_index is histentropy.jeffreys_divergence
