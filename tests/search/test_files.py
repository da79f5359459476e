"""The package's file helpers: atomic writes and the weights-file format."""

import os

import numpy as np
import pytest

from tf_lropt._files import atomic_write, load_weights_file, save_weights_file


@pytest.mark.backend_agnostic
def test_atomic_write_replaces_on_success_and_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "sub" / "record.json"
    with atomic_write(path) as f:
        f.write("old")
    assert path.read_text() == "old"
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write("half of the new")
        raise RuntimeError("killed while writing")
    assert path.read_text() == "old"
    assert os.listdir(path.parent) == ["record.json"]  # no temporary file left behind
    with atomic_write(path) as f:
        f.write("new")
    assert path.read_text() == "new" and os.listdir(path.parent) == ["record.json"]


@pytest.mark.backend_agnostic
@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_atomic_write_gives_the_permissions_of_a_plain_new_file(tmp_path):
    (tmp_path / "plain.csv").write_text("x")
    with atomic_write(tmp_path / "atomic.csv") as f:
        f.write("x")
    save_weights_file(tmp_path / "w.npz", [np.zeros(2)])
    expected = os.stat(tmp_path / "plain.csv").st_mode
    assert os.stat(tmp_path / "atomic.csv").st_mode == expected
    assert os.stat(tmp_path / "w.npz").st_mode == expected


@pytest.mark.backend_agnostic
def test_weights_file_round_trips_every_array_in_order(tmp_path):
    weights = [np.arange(6, dtype="float32").reshape(2, 3), np.array([1.5], "float64"),
               np.zeros((0,), "float32")] + [np.full((1,), i, "int32") for i in range(11)]
    path = tmp_path / "w.npz"
    save_weights_file(path, weights)
    loaded = load_weights_file(path)
    assert len(loaded) == len(weights)  # w10 after w9, not after w1
    for a, b in zip(loaded, weights, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert os.listdir(tmp_path) == ["w.npz"]
