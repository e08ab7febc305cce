"""Time alignment: which face frame, audio row and pose row feed each step of a frame's window.

The paper's window is 6 s sampled at 2 per second: 12 steps at t-3.0, t-2.5, ..., t, ...,
t+2.5 s, the current frame at index 6. Everything is converted by time with the video's own
fps (the release hard-coded 30 fps, and let an index of -1 wrap to the last row). Steps that
fall outside the video are padded with the edge and flagged, so every frame of every video gets
a window and every test frame can be predicted.
"""

from __future__ import annotations

import numpy as np

N_STEPS = 12
CURRENT_STEP = 6
STEP_S = 0.5
#: Offsets of the 12 steps from the current frame, in seconds.
STEP_OFFSETS_S = (np.arange(N_STEPS) - CURRENT_STEP) * STEP_S


def frame_times(frames: np.ndarray, fps: float) -> np.ndarray:
    """Time in seconds of 1-based frame numbers."""
    return (np.asarray(frames, dtype=np.float64) - 1.0) / fps


def step_times(frames: np.ndarray, fps: float) -> np.ndarray:
    """(N, 12) times of each window step for 1-based ``frames``."""
    return frame_times(frames, fps)[:, None] + STEP_OFFSETS_S[None, :]


def window_frames(frames: np.ndarray, fps: float, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """1-based frame of each step (clipped to 1..n_frames) and whether it lies inside the video.

    >>> idx, inside = window_frames(np.array([1]), 30.0, 100)
    >>> idx[0].tolist()
    [1, 1, 1, 1, 1, 1, 1, 16, 31, 46, 61, 76]
    >>> inside[0].tolist()[:7]
    [False, False, False, False, False, False, True]
    """
    times = step_times(frames, fps)
    raw = np.rint(times * fps).astype(np.int64) + 1
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
