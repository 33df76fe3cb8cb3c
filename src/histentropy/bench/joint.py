"""Joint suite of `histentropy bench`: mutual information of contingency
tables against ``sklearn.metrics.mutual_info_score(None, None,
contingency=C)``.

Integer counts (uniform on [0, 50)), one thread:

1. one 1000 x 1000 int64 table (--quick: 300 x 300). Goal: >= 20x.
2. 10,000 tables of 16 x 16 (--quick: 1,000), one call of
   ``mutual_information`` against a loop of ``mutual_info_score`` (the loop
   is timed on the first 1,000 tables and scaled). Goal: >= 100x.
3. each bias-corrected estimator, ``entropy(C, estimator=...)`` of 10,000
   rows of 256 counts (--quick: 1,000), against the plug-in entropy of the
   same rows (the reference column): goal <= 3x its time, i.e. a speed-up
   >= 0.33x. The diff column is the estimator's difference from the
   plug-in entropy (its bias correction), not an error.

The MI notes give the largest relative difference to scikit-learn.
"""
import time

import numpy as np

import histentropy
from histentropy.bench._common import Row, compare

TABLE = (1000, 1000)
QUICK_TABLE = (300, 300)
BATCH = (10_000, 16, 16)
QUICK_BATCH = (1_000, 16, 16)
LOOP_SAMPLE = 1_000
ROWS = (10_000, 256)
QUICK_ROWS = (1_000, 256)
ESTIMATORS = ("miller_madow", "grassberger", "chao_shen", "james_stein")


def counts(shape, seed):
    return np.random.default_rng(seed).integers(0, 50, shape).astype(np.int64)


def _rel(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))


def _table_row(shape, min_time):
    from sklearn.metrics import mutual_info_score

    C = counts(shape, 1)
    t_ours, t_ref = compare(lambda: histentropy.mutual_information(C, workers=1),
                            lambda: mutual_info_score(None, None, contingency=C),
                            min_time)
    got = histentropy.mutual_information(C, workers=1)
    want = mutual_info_score(None, None, contingency=C)
    rel = _rel(got, want)
    return Row("joint", f"{shape[0]}x{shape[1]}", "int64", "mutual_information, 1 thread",
               t_ours, t_ref, abs(float(got) - want), goal=">= 20x",
               ref="sklearn mutual_info_score",
               note=f"rel diff {rel:.1e}; {t_ours / C.size * 1e9:.2f} ns per cell "
                    f"(ref {t_ref / C.size * 1e9:.2f})",
               extra={"max_rel_diff": rel})


def _batch_row(shape, min_time):
    from sklearn.metrics import mutual_info_score

    B = counts(shape, 2)
    sample = B[:LOOP_SAMPLE]

    def loop():
        return [mutual_info_score(None, None, contingency=table) for table in sample]

    t_ours, _ = compare(lambda: histentropy.mutual_information(B, workers=1), lambda: None,
                        min_time)
    t0 = time.perf_counter()
    want = np.array(loop())
    t_ref = (time.perf_counter() - t0) * (shape[0] / len(sample))
    got = histentropy.mutual_information(B, workers=1)[:len(sample)]
    rel = _rel(got, want)
    return Row("joint", f"{shape[0]} x {shape[1]}x{shape[2]}", "int64",
               "mutual_information, 1 thread", t_ours, t_ref,
               float(np.max(np.abs(got - want))), goal=">= 100x",
               ref="sklearn mutual_info_score loop",
               note=f"rel diff {rel:.1e}; loop timed on {len(sample)} tables, scaled",
               extra={"max_rel_diff": rel})


def _estimator_rows(shape, min_time):
    C = counts(shape, 3)
    rows = []
    plugin = histentropy.entropy(C, workers=1)
    for estimator in ESTIMATORS:
        t_ours, t_ref = compare(
            lambda: histentropy.entropy(C, estimator=estimator, workers=1),
            lambda: histentropy.entropy(C, workers=1), min_time)
        got = histentropy.entropy(C, estimator=estimator, workers=1)
        rows.append(Row("joint", f"{shape[0]}x{shape[1]}", "int64",
                        f"entropy(estimator={estimator!r}), 1 thread", t_ours, t_ref,
                        float(np.max(np.abs(got - plugin))), goal=">= 0.33x",
                        ref="histentropy plug-in entropy",
                        note=f"{t_ours / t_ref:.2f}x the plug-in time (goal <= 3x); "
                             "diff: the correction",
                        extra={"time_vs_plugin": t_ours / t_ref}))
    return rows


def run(quick=False):
    min_time = 0.05 if quick else 0.3
    rows = [_table_row(QUICK_TABLE if quick else TABLE, min_time),
            _batch_row(QUICK_BATCH if quick else BATCH, min_time),
            *_estimator_rows(QUICK_ROWS if quick else ROWS, min_time)]
    rows[0].note = f"{rows[0].note}; CPU path: {histentropy.cpu_path()}"
    return rows
