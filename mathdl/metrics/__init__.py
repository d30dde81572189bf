r"""Evaluation ([MEDL] Sec. 2.5): classification metrics, ROC and AUC, k-fold cross-validation.

Metrics compare whole vectors of labels (confusion matrix, accuracy, precision, recall, F1, ROC
and AUC). Cross-validation makes every fold a mask over the rows and fits models with row
weights, so all folds (and a grid of ridge strengths or polynomial degrees) run in one compiled
call.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_classification", "_detection", "_kfold", "_roc", "_bleu", "_sample_metrics", "_frechet")
