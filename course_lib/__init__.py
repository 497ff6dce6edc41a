"""course_lib: the helper library of "Siamese Networks, a hands-on course".

Map of course_lib (module: its one job; the notebook that introduces it):

============== ========================================================== ========
module         job                                                        notebook
============== ========================================================== ========
config         fast mode, data/build folders, seeding, ``describe()``     01
data           MNIST, scikit-learn's 8x8 digits, Omniglot, Lake's runs    01
pairs          seeded ``tf.data`` pairs, triplets, N-way episodes         01
sampling       the class table and seeded stream every sampler uses       01
models         encoders, (pseudo-)Siamese builders, ensembles, shifts     01
layers         distance/similarity heads, shifted views (serializable)    01
losses         pair, triplet, mining and N-way losses (serializable)      01
evaluate       thresholds, ROC/EER, k-NN, probes, clusters, retrieval     01
distances      distances, nearest neighbours (one tie rule), keras.ops    01
plots          every figure of the notebooks                              01
distribute     ``tf.distribute`` strategy, mixed precision                01
results        ``build/results.json``; study files the scripts write      01
checks         argument validation shared by every module                 (all)
training       seeded training runs, optimizers, run diagnostics          03
callbacks      epoch timer, time budget, snapshots, one-shot validation   05
augment        Koch et al.'s random affine distortions                    06
oneshot        one-shot tasks: drawing, scoring, Lake's runs as tasks     06
pk_sampling    P x K class-balanced ``tf.data`` batches                   07
unseen         train an embedding with a loss, score on unseen classes    07
folders        image folders: loading, path-based ``tf.data`` batches     08
splits         seeded class-disjoint train/validation/test splits        08
gallery        embedding gallery: export, search, verify, identify       08
projector      TensorBoard embedding projector files                     08
exercises      learner's exercises: check(), hint(), solution()           01
============== ========================================================== ========

Tooling lives beside the package, not in it: ``benchmarks/`` (``make bench``) and ``tools/``
(the notebook runner behind ``make course`` and ``make store``).

Importing it quiets two sources of noise in notebook outputs: TensorFlow's C++ log (unless
``TF_CPP_MIN_LOG_LEVEL`` is already set; level 3 also hides a spurious tf.data "NodeDef mentions
attribute use_unbounded_threadpool" error that TF 2.21 prints whenever op determinism rewrites a
pipeline; real failures still raise Python exceptions) and Keras's warning that ``shuffle`` is
ignored for a ``tf.data`` input (our pair pipelines draw fresh random pairs every batch).
Set ``TF_CPP_MIN_LOG_LEVEL=0`` before importing to see everything.

Importing it also registers every Keras object of the library (the layers of ``layers`` and
``augment``, the losses and the metric of ``losses``) under the package name :data:`PACKAGE`,
so ``keras.models.load_model`` reads a ``.keras`` file that uses them after ``import
course_lib`` alone. That imports Keras and TensorFlow.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed, but will be ignored")

#: The package every registered Keras object of course_lib is saved under ("course_lib>Name").
#: Defined before the imports below, which read it.
PACKAGE = "course_lib"

from course_lib import config as _config  # noqa: E402  (imports no TensorFlow)

# Imported for their registration with Keras (and so reachable as course_lib.layers, ...).
# TensorFlow's start-up lines on file descriptor 2 (absl's notice, CUDA probing on a CPU
# machine) are hidden here, as config.describe() hides them; Python errors still raise.
with _config._quiet_native_stderr():
    from course_lib import augment, layers, losses  # noqa: E402, F401
