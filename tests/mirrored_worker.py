"""Run by test_distribute.py in a fresh process: two logical CPUs, MirroredStrategy training.

Prints one JSON line with what the test checks. A separate process, because logical devices
can only be configured before TensorFlow initialises.
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf

from course_lib import distribute, losses, models, pairs

devices = distribute.split_cpu(2)
strategy = tf.distribute.MirroredStrategy(devices)
rng = np.random.default_rng(0)
y = rng.integers(0, 4, 400)
x = (rng.normal(size=(400, 8, 8)) * 0.3 + y[:, None, None]).astype(np.float32)
batch = distribute.global_batch_size(32, strategy)


def build():
    keras.utils.set_random_seed(0)
    model = models.siamese(models.mlp_encoder((8, 8), embedding_dim=2, hidden=16))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss=losses.ContrastiveLoss())
    return model


with strategy.scope():
    model = build()
reference = build()                      # same initial weights, default (one-device) strategy
reference.set_weights(model.get_weights())

(a, b), labels = next(iter(pairs.pair_dataset(x, y, batch, seed=5, steps=1)))
global_loss = model.evaluate([a, b], labels, batch_size=batch, verbose=0)
single_loss = reference.evaluate([a, b], labels, batch_size=batch, verbose=0)
before = model.get_weights()
model.train_on_batch([a, b], labels)
step_change = max(float(np.abs(w1 - w0).max()) for w1, w0 in zip(model.get_weights(), before))
reference.train_on_batch([a, b], labels)
step_gap = max(float(np.abs(m - r).max())
               for m, r in zip(model.get_weights(), reference.get_weights()))

history = model.fit(pairs.pair_dataset(x, y, batch, seed=1), steps_per_epoch=20, epochs=3,
                    verbose=0).history["loss"]
replica_gap = max(float(np.abs(v.value.values[0].numpy() - v.value.values[1].numpy()).max())
                  for v in model.trainable_variables)
path = sys.argv[1]
model.save(path)
reloaded = keras.models.load_model(path)
reload_gap = float(np.abs(reloaded.predict([a, b], verbose=0)
                          - model.predict([a, b], verbose=0)).max())
print(json.dumps({
    "replicas": strategy.num_replicas_in_sync, "losses": history, "global_loss": global_loss,
    "single_loss": single_loss, "step_gap": step_gap, "step_change": step_change, "replica_gap": replica_gap,
    "reload_gap": reload_gap,
}))
