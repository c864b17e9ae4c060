import ErrWatchCLI
print("x")
