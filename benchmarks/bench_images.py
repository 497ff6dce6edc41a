"""Training from a folder of photos: images per second from 12-megapixel JPEGs, three feeds.

The three ways a P x K training batch can reach the model (notebook 08):

- **uncached**: ``folders.path_pk_dataset`` decodes every drawn file with TensorFlow's decoder
  (as ``folders.decode_image`` does) and resizes it, at every step;
- **cached**: ``folders.cache_images`` decodes each file once (``folders.decode_image``, EXIF
  applied, a JPEG far larger than the training size at reduced scale) into a uint8 array at
  the training size, mapped from disk; batches
  come from ``pk_sampling.pk_dataset`` over it, converted to float in the pipeline. The first
  pass (building the cache) is timed on its own, and so is the scan before it
  (``folders.scan_image_folder`` checking every file);
- **in memory**: ``pk_sampling.pk_dataset`` over a float32 array already in memory (the
  reference speed).

Each feed is timed twice: the input pipeline alone (batches drawn, nothing trained) and
training (a small CNN with the batch-hard triplet loss, ``fit`` for ``--steps`` steps after one
warm-up epoch). The report gives images per second and each feed's ratio to in memory; the
target of issue 24 is a cached training speed of at least 0.9 of in memory.

Writes ``build/bench_images.json`` and ``build/bench_images.md`` and prints the table.
Standalone tooling, not part of the installed package: run it from the repository root,
``make bench-images`` or ``python -m benchmarks.bench_images`` (about 3 minutes on 2 CPU
cores, most of it writing and decoding the photos); ``--quick`` for small photos and few
steps. No test asserts a timing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

FEEDS = ("uncached", "cached", "in memory")


def make_photos(folder: Path, classes: int, per_class: int, width: int, height: int,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write ``classes x per_class`` RGB JPEGs of ``width x height`` (smooth colour fields
    with some noise, quality 90, like camera photos in size); returns (paths, labels)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths, labels = [], []
    small = (height // 16, width // 16)
    for c in range(classes):
        (folder / f"class {c:03d}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            field = rng.uniform(0, 255, (*small, 3)).astype(np.uint8)
            img = Image.fromarray(field).resize((width, height), Image.Resampling.BILINEAR)
            arr = np.asarray(img, np.int16) + rng.integers(-8, 9, (height, width, 3))
            path = folder / f"class {c:03d}" / f"photo_{i:02d}.jpg"
            Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
            paths.append(str(path))
            labels.append(c)
    return np.array(paths), np.array(labels)


def _datasets(paths, labels, cached, in_memory, p, k, size):
    import tensorflow as tf

    from course_lib import folders, pk_sampling

    def to_float(batch):
        return tf.cast(batch, tf.float32) / 255.0

    return {
        "uncached": folders.path_pk_dataset(paths, labels, p, k, size, "rgb", repeat=True),
        "cached": pk_sampling.pk_dataset(cached, labels, p, k, repeat=True,
                                         augment=to_float),
        "in memory": pk_sampling.pk_dataset(in_memory, labels, p, k, repeat=True),
    }


def _input_rate(ds, batches: int, batch_size: int) -> float:
    it = iter(ds)
    next(it)                                            # pipeline start-up, not counted
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - start)


def _training_rate(ds, steps: int, batch_size: int, size: int) -> float:
    import keras

    from course_lib import losses, models

    keras.utils.set_random_seed(0)
    model = models.small_cnn_encoder((size, size, 3), embedding_dim=32)
    model.compile(optimizer="adam", loss=losses.get("batch_hard", margin=0.2))
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)           # trace and warm up
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


def measure(args) -> dict:
    from course_lib import folders

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        t0 = time.perf_counter()
        paths, labels = make_photos(root, args.classes, args.per_class, args.width,
                                    args.height)
        written = time.perf_counter() - t0
        mb = sum(Path(p).stat().st_size for p in paths) / 2**20
        t0 = time.perf_counter()
        folders.scan_image_folder(root, warn=False)        # the scan's check of every file
        scan = time.perf_counter() - t0
        t0 = time.perf_counter()
        cached = folders.cache_images(paths, args.size, "rgb", cache_dir=Path(tmp) / "cache")
        first_pass = time.perf_counter() - t0
        t0 = time.perf_counter()
        cached = folders.cache_images(paths, args.size, "rgb", cache_dir=Path(tmp) / "cache")
        reopen = time.perf_counter() - t0
        in_memory = folders.read_images(paths, args.size, "rgb")
        batch = args.p * args.k
        datasets = _datasets(paths, labels, cached, in_memory, args.p, args.k, args.size)
        rows = {}
        for name in FEEDS:
            rows[name] = {
                "input_images_per_s": _input_rate(datasets[name], args.batches, batch),
                "training_images_per_s": _training_rate(datasets[name], args.steps, batch,
                                                        args.size)}
            print(f"{name:>10}: input {rows[name]['input_images_per_s']:9.1f} images/s, "
                  f"training {rows[name]['training_images_per_s']:8.1f} images/s", flush=True)
    ref = rows["in memory"]
    for row in rows.values():
        row["input_vs_in_memory"] = row["input_images_per_s"] / ref["input_images_per_s"]
        row["training_vs_in_memory"] = (row["training_images_per_s"]
                                        / ref["training_images_per_s"])
    return {"photos": len(paths), "photo_size": f"{args.width}x{args.height}",
            "megapixels": args.width * args.height / 1e6, "jpeg_mib": mb,
            "write_seconds": written, "scan_s": scan, "scan_images_per_s": len(paths) / scan,
            "cache_first_pass_s": first_pass,
            "cache_first_pass_images_per_s": len(paths) / first_pass,
            "cache_reopen_s": reopen, "image_size": args.size, "batch": batch,
            "steps": args.steps, "feeds": rows}


def markdown(report: dict) -> str:
    m = report["result"]
    lines = [
        "# Training from photos: images per second",
        "",
        f"{report['date']}; {report['machine']}; load before {report['load_before']}, after "
        f"{report['load_after']}.",
        "",
        f"{m['photos']} JPEGs of {m['photo_size']} ({m['megapixels']:.1f} MP, "
        f"{m['jpeg_mib']:.0f} MiB), trained at {m['image_size']}x{m['image_size']} RGB, "
        f"batches of {m['batch']}, {m['steps']} timed steps.",
        "",
        f"Scanning the folder (every file checked): {m['scan_s']:.1f} s, "
        f"{m['scan_images_per_s']:.1f} photos/s.",
        "",
        f"Building the cache (first pass): {m['cache_first_pass_s']:.1f} s, "
        f"{m['cache_first_pass_images_per_s']:.1f} photos/s; reopening it: "
        f"{m['cache_reopen_s'] * 1000:.0f} ms.",
        "",
        "| feed | input images/s | vs in memory | training images/s | vs in memory |",
        "|---|---|---|---|---|",
    ]
    for name in FEEDS:
        r = m["feeds"][name]
        lines.append(f"| {name} | {r['input_images_per_s']:.1f} | {r['input_vs_in_memory']:.2f}"
                     f" | {r['training_images_per_s']:.1f} | {r['training_vs_in_memory']:.2f} |")
    ratio = m["feeds"]["cached"]["training_vs_in_memory"]
    lines += ["", f"Cached training runs at {ratio:.2f} of in-memory speed (target: at least "
              "0.9)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small photos and few steps: checks that it runs")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    sizes = (dict(classes=4, per_class=4, width=400, height=300, batches=3, steps=3)
             if args.quick else
             dict(classes=8, per_class=6, width=4000, height=3000, batches=20, steps=20))
    for key, value in {**sizes, "size": 64, "p": 4, "k": 4}.items():
        setattr(args, key, value)
    load_before = common.load_average()
    result = measure(args)
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": common.describe(common.machine()), "load_before": load_before,
              "load_after": common.load_average(), "quick": args.quick, "result": result}
    text = markdown(report)
    common.write_report(args.out, "bench_images", report, text)
    print(text)
    return report


if __name__ == "__main__":
    main()
