"""The tiny corpus the per-task training tests share (VA, AU, MTL): 8 videos of 6 s, seed 3,
made once per session through the real command line (``corpus``), and the environment of
the ``harness`` subprocesses that use it (``env``; a test module may define its own)."""

from __future__ import annotations

import pytest

from tests.conftest import cli_env, harness


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    return cli_env(tmp_path_factory)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, env):
    root = tmp_path_factory.mktemp("tasks") / "corpus"
    harness("data", "synth", "--out", root, "--videos", 8, "--seconds", 6, "--seed", 3,
            env=env)
    return root
