"""What the learner sees: live training plots, static figures, the sample viewer and progress bars."""
