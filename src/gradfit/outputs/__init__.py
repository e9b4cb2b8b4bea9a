"""What reads a ``FitResult``: explanations, verdicts, plots, the HTML report, inference, model files.

``compare`` is the only module here that runs extra fits, and only when called."""
