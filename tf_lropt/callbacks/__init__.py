"""tf_lropt.callbacks."""

__all__: list[str] = []
