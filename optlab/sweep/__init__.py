"""A sweep: its configuration, the grid of runs, running them (side by side too) and their results files."""
