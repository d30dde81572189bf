"""Evaluation metrics (MEDL Sec. 2.5): confusion matrix, accuracy, precision, recall, F1, ROC and AUC."""

from mathdl.metrics._classification import accuracy, confusion_matrix, f1, precision, recall
from mathdl.metrics._roc import roc_auc, roc_curve

__all__ = ["accuracy", "confusion_matrix", "f1", "precision", "recall", "roc_auc", "roc_curve"]
