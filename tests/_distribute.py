"""A MirroredStrategy over the two logical CPUs that tests can create more than once per process."""

from __future__ import annotations


def mirrored_strategy(devices=("CPU:0", "CPU:1")):
    """MirroredStrategy whose all-reduce goes through one device instead of collective ops.

    Why: with the default collective all-reduce, a second MirroredStrategy in the same process
    can reuse the first one's collective instance keys, and TensorFlow aborts its all-reduce with
    "Shape mismatch in the collective instance" (seen when pytest-xdist put the callback test's
    strategy and the optimizer integration test's strategy in one worker). Reducing to one
    device sums the replicas' gradients the same way without process-wide collective state.
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(
        list(devices), cross_device_ops=tf.distribute.ReductionToOneDevice())
