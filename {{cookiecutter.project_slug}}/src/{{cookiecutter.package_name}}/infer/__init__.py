"""Serving handlers (model_fn, input_fn, predict_fn, output_fn) and batch prediction.

SageMaker's scikit-learn and XGBoost serving containers call these four functions; the batch
command (`python -m` this package) uses the same ones.
"""

from .handler import UnsupportedContentTypeError, input_fn, model_fn, output_fn, predict_fn

__all__ = ["UnsupportedContentTypeError", "input_fn", "model_fn", "output_fn", "predict_fn"]
