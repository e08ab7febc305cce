"""Write per-frame features for an Aff-Wild2-shaped release the way another team's extractor
would, for ``harness extract --from DIR --as NAME``.

It knows nothing of the harness: it walks ``cropped_aligned/<name>/<NNNNN>.jpg`` and the video
files, as any extractor would, and writes

- ``OUT/face/<name>.npz``: ``feat`` (rows, 128) and ``frame`` (1-based frame of each row): a
  descriptor of each face image (a 16x8 grid of mean intensities of the grey, equalised crop);
  frames without a face image have no row, as with a real face model;
- ``OUT/audio/<video>.npz``: ``feat`` (rows, 24) and ``time`` (seconds): log band energies of
  the soundtrack at 10 rows per second, one file per video (``x_left`` and ``x_right`` share it).

    python examples/peer_features.py --data CORPUS --out peer
    harness extract --data CORPUS --from peer/face --as peerface
    harness extract --data CORPUS --from peer/audio --as peeraudio
    harness run attention_fusion --data CORPUS --face-features peerface --audio-features peeraudio
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np

RATE_HZ, SR, BANDS = 10, 16000, 24


def face_descriptor(path: Path) -> np.ndarray | None:
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        return None
    img = cv2.equalizeHist(cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA))
    grid = img.reshape(16, 4, 8, 8).mean(axis=(1, 3))  # 16 rows x 8 columns
    return ((grid - grid.mean()) / (grid.std() + 1e-6)).ravel().astype(np.float32)


def write_faces(root: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for folder in sorted(p for p in (root / "cropped_aligned").iterdir() if p.is_dir()):
        rows, frames = [], []
        for jpg in sorted(folder.glob("*.jpg")):
            feat = face_descriptor(jpg)
            if feat is not None:
                rows.append(feat)
                frames.append(int(jpg.stem))
        if rows:
            np.savez(out / f"{folder.name}.npz", feat=np.stack(rows),
                     frame=np.array(frames, dtype=np.int64))
            written += 1
    return written


def band_energies(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        chunks = [f.to_ndarray().ravel() for frame in container.decode(audio=0)
                  for f in resampler.resample(frame)]
    y = np.concatenate(chunks) if chunks else np.zeros(SR, np.float32)
    hop, win = SR // RATE_HZ, SR // 5
    n = max(1, len(y) // hop)
    y = np.pad(y, (win // 2, win))
    frames = np.stack([y[i * hop:i * hop + win] for i in range(n)]) * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.geomspace(1, power.shape[1], BANDS + 1).astype(int)
    bands = np.stack([power[:, a:max(b, a + 1)].sum(1) for a, b in zip(edges[:-1], edges[1:])], 1)
    return np.log(bands + 1e-8).astype(np.float32), np.arange(n) / RATE_HZ


def write_audio(root: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for video in sorted(p for p in root.rglob("*") if p.suffix in (".mp4", ".avi")):
        got = band_energies(video)
        if got is None:  # no soundtrack: silence, as an extractor would see it
            with av.open(str(video)) as container:
                stream = container.streams.video[0]
                seconds = float(stream.frames / stream.average_rate) if stream.frames else 1.0
            n = max(1, int(seconds * RATE_HZ))
            got = np.full((n, BANDS), np.log(1e-8), np.float32), np.arange(n) / RATE_HZ
        np.savez(out / f"{video.stem}.npz", feat=got[0], time=got[1])
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="release root")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args()
    faces = write_faces(args.data, args.out / "face")
    videos = write_audio(args.data, args.out / "audio")
    print(f"wrote {faces} face files to {args.out / 'face'}, "
          f"{videos} audio files to {args.out / 'audio'}")


if __name__ == "__main__":
    main()
