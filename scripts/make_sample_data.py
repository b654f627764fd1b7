"""Write the generated projects' sample data from datasets that ship inside scikit-learn.

Run by hand when the sample data should change (`python scripts/make_sample_data.py`); the
harness checks the shipped files still match. Nothing is downloaded: both datasets are bundled.
"""

import re
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "{{cookiecutter.project_slug}}" / "data" / "sample"


def sample_frames():
    """The sample datasets by file name: column names in snake_case, target last."""
    breast_cancer = load_breast_cancer(as_frame=True).frame
    breast_cancer.columns = [re.sub(r"\W+", "_", column) for column in breast_cancer.columns]
    diabetes = load_diabetes(as_frame=True, scaled=False).frame
    return {"breast_cancer.csv": breast_cancer, "diabetes.csv": diabetes}


def main() -> None:
    for file_name, frame in sample_frames().items():
        frame.to_csv(SAMPLE_DIR / file_name, index=False)
        print(f"wrote {SAMPLE_DIR / file_name}: {len(frame)} rows")


if __name__ == "__main__":
    main()
