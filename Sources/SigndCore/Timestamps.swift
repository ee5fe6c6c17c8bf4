import Foundation

/// RFC 3339 / ISO 8601 text for dates, without building a formatter per call (formatter
/// construction showed up as 10 % of the daemon's CPU). Value-type format styles are thread-safe.
public enum Timestamps {
    private static let seconds = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)
    private static let milliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)

    /// `2026-11-29T14:07:31Z`
    public static func iso8601(_ date: Date) -> String { date.formatted(seconds) }

    /// `2026-11-29T14:07:31.123Z`
    public static func iso8601Milliseconds(_ date: Date) -> String { date.formatted(milliseconds) }
}
