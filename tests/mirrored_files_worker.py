"""Run by test_distribute.py in a fresh process: P x K batches read from files, two replicas.

Writes a small folder of PNGs (argv[1]), splits the CPU into two logical devices and checks
what the README says about training from files on several devices: each replica receives its
consecutive slice of the global batch, so with P a multiple of the replica count every replica
holds whole classes (K examples each) for the mining loss; a few fit steps run. Prints one JSON
line.
"""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from course_lib import distribute, folders, losses

devices = distribute.split_cpu(2)
strategy = tf.distribute.MirroredStrategy(devices)
root = Path(sys.argv[1])
rng = np.random.default_rng(0)
for c in range(6):
    (root / f"class_{c}").mkdir(parents=True, exist_ok=True)
    for i in range(6):
        pixels = (rng.integers(0, 30, (8, 8)) + 35 * c).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"class_{c}" / f"{i}.png")
scan = folders.scan_image_folder(root)
P_PER_REPLICA, K = 2, 3
p = P_PER_REPLICA * strategy.num_replicas_in_sync
ds = folders.path_pk_dataset(scan.paths, scan.labels, p, K, image_size=8, seed=0, steps=3)
slices = []
for batch in strategy.experimental_distribute_dataset(ds):
    labels = [v.numpy() for v in strategy.experimental_local_results(batch[1])]
    slices.append([np.unique(lab, return_counts=True)[1].tolist() for lab in labels])

with strategy.scope():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Dense(8)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.UnitNormalization()(x))
    model.compile(keras.optimizers.Adam(1e-2), loss=losses.BatchHardTripletLoss(margin=0.2))
history = model.fit(folders.path_pk_dataset(scan.paths, scan.labels, p, K, image_size=8,
                                            repeat=True),
                    steps_per_epoch=5, epochs=2, verbose=0).history["loss"]
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "slices": slices,
                  "losses": history}))
