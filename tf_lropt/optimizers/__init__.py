"""tf_lropt.optimizers."""

__all__: list[str] = []
