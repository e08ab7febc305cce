"""Time alignment: which frame, audio row and pose row feed each step of a frame's window.

The paper's window is 6 s sampled at 2 per second: 12 steps at t-3.0, t-2.5, ..., t, ...,
t+2.5 s, the current frame at index 6. Everything is converted by time with the video's own
fps (the release hard-coded 30 fps, and let an index of -1 wrap to the last row). Steps that
fall outside the video are padded with the edge and flagged, so every frame of every video gets
a window and every test frame can be predicted.

A baseline may ask for another window (``WindowSpec``): ``dense_window(frames)`` takes that many
consecutive frames around the current one, for models that read every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.face_index import nearest_frames

N_STEPS = 12
CURRENT_STEP = 6
STEP_S = 0.5
#: Offsets of the 12 steps from the current frame, in seconds.
STEP_OFFSETS_S = (np.arange(N_STEPS) - CURRENT_STEP) * STEP_S


@dataclass(frozen=True)
class WindowSpec:
    """The steps of a frame's window: every ``step_s`` seconds, or (``step_s`` None) every
    frame; ``current`` is the index of the predicted frame."""

    steps: int = N_STEPS
    current: int = CURRENT_STEP
    step_s: float | None = STEP_S

    @property
    def label(self) -> str:
        if self.step_s is None:
            return f"dense {self.steps} frames"
        return f"{self.steps} steps every {self.step_s:g} s"

    def step_frames(self, frames: np.ndarray, fps: np.ndarray | float) -> np.ndarray:
        """(N, steps) 1-based frame of each step, not yet clipped to the video."""
        offsets = np.arange(self.steps) - self.current
        frames = np.asarray(frames, dtype=np.int64)
        if self.step_s is None:
            return frames[:, None] + offsets[None, :]
        return np.rint(self.step_times(frames, fps) * _column(fps)).astype(np.int64) + 1

    def step_times(self, frames: np.ndarray, fps: np.ndarray | float) -> np.ndarray:
        """(N, steps) time in seconds of each step."""
        if self.step_s is None:
            return frame_times(self.step_frames(frames, fps), _column(fps))
        offsets = (np.arange(self.steps) - self.current) * self.step_s
        return frame_times(frames, _column(fps)[:, 0])[:, None] + offsets[None, :]


#: The seed paper's window.
PAPER_WINDOW = WindowSpec()


def dense_window(frames: int) -> WindowSpec:
    """``frames`` consecutive frames (odd: centred on the current one)."""
    if frames < 1 or frames % 2 == 0:
        raise ValueError(f"a dense window needs an odd number of frames, got {frames}")
    return WindowSpec(steps=frames, current=frames // 2, step_s=None)


def _column(fps: np.ndarray | float) -> np.ndarray:
    return np.asarray(fps, dtype=np.float64).reshape(-1, 1)


def frame_times(frames: np.ndarray, fps: np.ndarray | float) -> np.ndarray:
    """Time in seconds of 1-based frame numbers."""
    return (np.asarray(frames, dtype=np.float64) - 1.0) / fps


def step_times(frames: np.ndarray, fps: float) -> np.ndarray:
    """(N, 12) times of each step of the paper's window for 1-based ``frames``."""
    return PAPER_WINDOW.step_times(frames, fps)


def window_frames(frames: np.ndarray, fps: float, n_frames: int,
                  spec: WindowSpec = PAPER_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """1-based frame of each step (clipped to 1..n_frames) and whether it lies inside the video.

    >>> idx, inside = window_frames(np.array([1]), 30.0, 100)
    >>> idx[0].tolist()
    [1, 1, 1, 1, 1, 1, 1, 16, 31, 46, 61, 76]
    >>> inside[0].tolist()[:7]
    [False, False, False, False, False, False, True]
    """
    raw = spec.step_frames(frames, fps)
    inside = (raw >= 1) & (raw <= n_frames)
    return np.clip(raw, 1, n_frames), inside


def nearest_rows(times: np.ndarray, row_times: np.ndarray) -> np.ndarray:
    """Index of the row whose time is nearest to each of ``times`` (rows sorted by time).

    Used for audio (rows every 0.5 s) and pose (2 files per second). Out-of-range times take the
    first or last row: never a wrapped index.
    """
    row_times = np.asarray(row_times, dtype=np.float64)
    if row_times.size == 0:
        raise ValueError("no rows to align to")
    right = np.clip(np.searchsorted(row_times, times), 0, row_times.size - 1)
    left = np.clip(right - 1, 0, row_times.size - 1)
    take_left = np.abs(times - row_times[left]) <= np.abs(row_times[right] - times)
    return np.where(take_left, left, right)


def fill_from_nearest(feat: np.ndarray, have: np.ndarray, n: int, dim: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Rows for frames 1..n from features of frames ``have``; others copy the nearest, flagged."""
    if have.size == 0:
        return np.zeros((n, dim), np.float32), np.ones(n, bool)
    near = nearest_frames(have, n)
    rows = np.searchsorted(have, near)
    flag = np.ones(n, bool)
    flag[have - 1] = False
    return feat[rows].astype(np.float32), flag
