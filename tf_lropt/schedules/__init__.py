"""tf_lropt.schedules."""

__all__: list[str] = []
