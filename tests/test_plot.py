"""plot_schedule draws the schedule's own values (matplotlib, headless)."""

import keras
import numpy as np
import pytest

from tf_lropt.plot import plot_schedule, schedule_values
from tf_lropt.schedules import Cosine, ExpRange, Triangular, Triangular2

pytestmark = pytest.mark.backend_agnostic


def test_plot_schedule_draws_the_rates():
    schedule = Triangular2(0.001, 0.006, 20)
    figure = plot_schedule(schedule, 160)
    (line,) = figure.axes[0].get_lines()
    x, y = line.get_data()
    np.testing.assert_array_equal(x, np.arange(160))
    want = [float(schedule(i)) for i in range(160)]
    np.testing.assert_allclose(y, want, rtol=1e-6)
    assert figure.axes[0].get_ylabel() == "learning rate"


def test_policies_on_one_axes_like_the_paper(tmp_path):
    figure = plot_schedule(Triangular(0.001, 0.006, 2000), 16000)
    for schedule in (Triangular2(0.001, 0.006, 2000), ExpRange(0.001, 0.006, 2000, 0.99994)):
        plot_schedule(schedule, 16000, ax=figure.axes[0])
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels == ["Triangular", "Triangular2", "ExpRange"]
    figure.savefig(tmp_path / "clr.png")
    assert (tmp_path / "clr.png").stat().st_size > 0


def test_explicit_steps_log_scale_and_keras_schedules():
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    figure = plot_schedule(decay, [0, 10, 20], log_scale=True, label="exp")
    (line,) = figure.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.1, 0.05, 0.025], rtol=1e-6)
    assert figure.axes[0].get_yscale() == "log"
    np.testing.assert_allclose(schedule_values(Cosine(1.0, 4), 5), [1, 0.853553, 0.5, 0.146447, 0],
                               atol=1e-6)
    with pytest.raises(ValueError, match="steps"):
        plot_schedule(decay, 0)
