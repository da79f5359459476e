"""Registered custom ``scale_fn`` functions shared by the schedule tests.

Registered with Keras so that schedules using them can be saved and loaded; kept in a
helper module so that no test module imports another.
"""

import keras


@keras.saving.register_keras_serializable(package="tf_lropt_tests")
def halve_every_other_cycle(cycle):
    return keras.ops.power(0.5, keras.ops.floor((cycle - 1.0) / 2.0))


@keras.saving.register_keras_serializable(package="tf_lropt_tests")
def slow_exponential(iteration):
    return keras.ops.exp(-iteration / 5000.0)
