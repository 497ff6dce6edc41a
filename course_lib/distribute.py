"""Pick the ``tf.distribute`` strategy for the hardware at hand, and the mixed-precision switch.

Introduced in notebook 01.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from course_lib import checks

__all__ = ["get_strategy", "global_batch_size", "set_mixed_precision", "split_cpu"]

_strategy = None


def _tpu_address(environ) -> str | None:
    """The TPU the environment announces, as TPUClusterResolver's ``tpu``; None if none.

    Colab TPU nodes give a gRPC address in ``COLAB_TPU_ADDR`` (TensorFlow 2.21's resolver no
    longer reads it by itself); ``TPU_NAME`` names a Cloud TPU, which the resolver reads ("").
    A TPU attached to the machine (Colab's TPU VM runtimes) is found by its devices instead.
    """
    if environ.get("COLAB_TPU_ADDR"):
        return "grpc://" + environ["COLAB_TPU_ADDR"]
    if environ.get("TPU_NAME"):
        return ""
    return None


# What a TPU machine shows even when the installed TensorFlow cannot use its TPU: the variables
# Colab and Cloud TPU VMs set, the TPU chips' device files, and the libtpu package (which Colab's
# TPU runtime ships, with JAX, but no TensorFlow).
_TPU_VARIABLES = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE", "TPU_WORKER_ID",
                  "TPU_WORKER_HOSTNAMES", "TPU_SKIP_MDS_QUERY")


def _tpu_runtime_signs(environ, dev_dir="/dev", find_spec=importlib.util.find_spec) -> list[str]:
    """What in this runtime says "TPU machine", whatever TensorFlow sees; [] on other machines."""
    signs = [name for name in _TPU_VARIABLES if environ.get(name)]
    if any(Path(dev_dir).glob("accel[0-9]*")):
        signs.append(f"{dev_dir}/accel*")
    try:
        if find_spec("libtpu") is not None:
            signs.append("the libtpu package")
    except (ImportError, ValueError):
        pass
    return signs


def _warn_tpu_unused(signs: list[str]) -> None:
    warnings.warn(
        f"this looks like a TPU runtime ({', '.join(signs)}) but TensorFlow cannot use its TPU, "
        "so everything runs on the CPU. Colab's TPU runtime ships JAX and libtpu, no "
        "TensorFlow; the TensorFlow pip installed has no TPU support. Choose a GPU or CPU "
        "runtime (Runtime > Change runtime type); see docs/scaling.md",
        stacklevel=3)


def _tpu_strategy(address: str):
    """A TPUStrategy on the TPU at ``address``, or None (with a warning) if it cannot start."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ImportError, ValueError, RuntimeError, tf.errors.OpError) as err:
        warnings.warn(f"a TPU was announced ({address or 'TPU_NAME'}) but could not start "
                      f"({err}); using the CPU/GPU strategy instead", stacklevel=3)
        return None
    return tf.distribute.TPUStrategy(resolver)


def get_strategy(refresh: bool = False) -> tf.distribute.Strategy:
    """TPU when one is reachable, else ``MirroredStrategy`` over 2+ visible GPUs, else the default.

    The choice is made once per process (TPU initialisation must not run twice); ``refresh``
    makes it again, e.g. after the logical devices were changed. Several machines
    (``MultiWorkerMirroredStrategy``) are never picked here: see ``docs/scaling.md``.

    On a machine that looks like a TPU runtime (TPU variables, ``/dev/accel*`` or the
    ``libtpu`` package) where TensorFlow finds no TPU, as on Colab's TPU runtime, which ships
    no TensorFlow, so the install cell brings a CPU-only one, it warns and returns the CPU/GPU
    strategy.

    Args:
        refresh: choose again instead of returning the strategy chosen before.

    Returns:
        The ``tf.distribute.Strategy`` to build and compile models under.

    Raises:
        TypeError: ``refresh`` is not a bool.

    Warns:
        UserWarning: a TPU was announced but could not start, or the runtime looks like a TPU
        runtime that TensorFlow cannot use; the CPU/GPU strategy is returned.
    """
    global _strategy
    refresh = checks.boolean(refresh, "refresh")
    if _strategy is not None and not refresh:
        return _strategy
    address = _tpu_address(os.environ)
    if address is None and tf.config.list_physical_devices("TPU"):
        address = "local"
    _strategy = _tpu_strategy(address) if address is not None else None
    if _strategy is None:
        if address is None:   # an announced TPU that failed to start has warned already
            signs = _tpu_runtime_signs(os.environ)
            if signs:
                _warn_tpu_unused(signs)
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            _strategy = tf.distribute.MirroredStrategy([g.name for g in gpus])
        else:
            _strategy = tf.distribute.get_strategy()
    return _strategy


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy | None = None) -> int:
    """The batch to feed ``fit``: ``per_replica`` examples for each replica in sync.

    Args:
        per_replica: examples per replica, an int >= 1.
        strategy: the strategy in use (default: :func:`get_strategy`).

    Returns:
        ``per_replica`` times the number of replicas.

    Raises:
        TypeError: ``per_replica`` is not an int. ValueError: it is < 1.
    """
    per_replica = checks.positive_int(per_replica, "per_replica")
    strategy = strategy or get_strategy()
    return per_replica * strategy.num_replicas_in_sync


def split_cpu(n: int = 2) -> list[str]:
    """Split the CPU into ``n`` logical devices, to exercise the multi-replica path without GPUs.

    Must run before TensorFlow initialises its devices (before any op runs).

    Args:
        n: the number of logical CPU devices, an int >= 1.

    Returns:
        The logical CPU device names.

    Raises:
        TypeError: ``n`` is not an int. ValueError: ``n`` < 1.
        RuntimeError: TensorFlow has already initialised its devices.
    """
    n = checks.positive_int(n, "n")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def set_mixed_precision(enabled: bool) -> str:
    """Compute in float16 (bfloat16 on TPU) with float32 weights when ``enabled``; returns the policy.

    Worth it on GPUs with tensor cores and on TPUs; on a CPU it is slower, so leave it off.
    Call it before building the models (a layer takes the policy in force when it is
    created), after :func:`get_strategy`; the course's distance layers and losses compute in
    float32 whatever the policy, and a model built by hand should end in a float32 layer.

    Args:
        enabled: True for mixed precision, False for plain float32.

    Returns:
        The Keras dtype policy name now in force.

    Raises:
        TypeError: ``enabled`` is not a bool.
    """
    if checks.boolean(enabled, "enabled"):
        tpu = isinstance(get_strategy(), tf.distribute.TPUStrategy)
        policy = "mixed_bfloat16" if tpu else "mixed_float16"
    else:
        policy = "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
