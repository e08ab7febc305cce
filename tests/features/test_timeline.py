import numpy as np
import pytest

from harness.features.timeline import (
    CURRENT_STEP,
    STEP_OFFSETS_S,
    nearest_rows,
    step_times,
    window_frames,
)


def test_offsets_are_the_papers():
    assert STEP_OFFSETS_S.tolist() == [-3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5,
                                       2.0, 2.5]
    assert STEP_OFFSETS_S[CURRENT_STEP] == 0.0


@pytest.mark.parametrize("fps, step", [(30.0, 15), (25.0, 12.5)])
def test_window_in_the_middle_of_a_video(fps, step):
    t = 1000
    idx, inside = window_frames(np.array([t]), fps, 5000)
    expected = np.rint(t - 1 + (np.arange(12) - 6) * step).astype(int) + 1
    assert idx[0].tolist() == expected.tolist() and inside.all()
    assert idx[0, CURRENT_STEP] == t


def test_29_97_fps_uses_time_not_frame_counts():
    idx, _ = window_frames(np.array([3001]), 30000 / 1001, 10000)
    # 3000 frames = 100.1 s; +2.5 s = 102.6 s -> frame index rint(102.6 * 29.97) + 1
    assert idx[0, -1] == int(np.rint((3000 / (30000 / 1001) + 2.5) * 30000 / 1001)) + 1


def test_edges_are_padded_and_flagged():
    idx, inside = window_frames(np.array([1, 100]), 30.0, 100)
    assert idx.min() == 1 and idx.max() == 100
    assert not inside[0, :CURRENT_STEP].any() and inside[0, CURRENT_STEP:].all()
    assert inside[1, : CURRENT_STEP + 1].all() and not inside[1, CURRENT_STEP + 1 :].any()


def test_every_frame_of_a_short_video_gets_a_window():
    idx, inside = window_frames(np.arange(1, 8), 7.5, 7)
    assert idx.shape == (7, 12) and inside[:, CURRENT_STEP].all()


def test_nearest_rows_never_wrap():
    rows = np.arange(0.5, 10.0, 0.5)  # audio centres
    times = step_times(np.array([1]), 30.0)[0]
    r = nearest_rows(times, rows)
    assert r.min() == 0 and r[CURRENT_STEP] == 0  # t=0 s is nearest the first centre
    far = nearest_rows(np.array([1e6]), rows)
    assert far[0] == rows.size - 1
