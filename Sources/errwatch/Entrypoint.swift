import ArgumentParser
import ErrWatchCLI

@main extension ErrWatchCommand {}
