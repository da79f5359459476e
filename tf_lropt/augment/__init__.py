"""tf_lropt.augment."""

__all__: list[str] = []
