"""Reading stream history into DataFrames without changing the stream: the replay and the live follow."""
