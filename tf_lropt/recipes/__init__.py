"""Recipes: each cited paper's method as one object a Keras user drops into compile and fit.

Built from what the user knows (epochs, steps per epoch or dataset size and batch size), with
the papers' hyperparameters as defaults, each recipe hands back exactly what Keras takes
(optimizers, schedules, callbacks, augmentation) and says what it chose (``summary()``):

- ``RobustRecipe``: RAdaBeliefW with cosine decay, weight decay off at 75 %, pad-4 crop,
  flip, TrivialAugment and CutMix (Noguchi & Yamauchi), each part switchable;
- ``CyclicalRecipe``: Smith's range test, bounds, step size and stopping point;
- ``WarmupAdaBoundRecipe``: warm-up AdaBound with the warm-up counted in epochs.
"""

from tf_lropt.recipes.cyclical import CyclicalRecipe
from tf_lropt.recipes.robust import TABLE_1, RobustRecipe
from tf_lropt.recipes.warmup_adabound import WarmupAdaBoundRecipe

__all__ = ["TABLE_1", "CyclicalRecipe", "RobustRecipe", "WarmupAdaBoundRecipe"]
