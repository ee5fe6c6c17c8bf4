/// Milliseconds for a timeout given in seconds, clamped to 1 ms … 1 day: a configured or
/// computed value that is NaN, negative or astronomically large never traps in the conversion
/// to an integer (it becomes the nearest bound).
public func clampedTimeoutMilliseconds(_ seconds: Double) -> Int64 {
    guard seconds.isFinite else { return seconds > 0 ? 86_400_000 : 1 }
    return Int64(min(max(seconds * 1000, 1), 86_400_000).rounded())
}

/// A whole number of seconds for a message: exact when it fits, else the value as written.
public func secondsText(_ seconds: Double) -> String {
    if seconds.isFinite, abs(seconds) < 9e15 { return String(Int64(seconds.rounded(.towardZero))) }
    return String(seconds)
}
