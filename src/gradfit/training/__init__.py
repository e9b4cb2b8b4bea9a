"""What a long run needs around the loop: checkpoints (``checkpoint``) and a progress bar (``progress``)."""
