"""What a person sees: footers, progress, reports, summaries, live tables and watch widgets, status, completion, plots.

The core never imports this package; magics and widgets do.
"""
