"""Importing histentropy makes idle OpenMP threads sleep (OMP_WAIT_POLICY),
unless the user chose a policy."""
import os
import subprocess
import sys

SCRIPT = "import os, histentropy; print(os.environ.get('OMP_WAIT_POLICY'))"


def _policy_after_import(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def test_passive_by_default():
    assert _policy_after_import(None) == "PASSIVE"


def test_user_choice_wins():
    assert _policy_after_import("active") == "active"
