import Foundation

/// PDF date strings (ISO 32000-1 7.9.4): `D:YYYYMMDDHHmmSSOHH'mm'`.
public enum PDFDate {
    /// Formats a date in UTC as `D:YYYYMMDDHHmmSS+00'00'`.
    public static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func p(_ v: Int?, _ w: Int) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "D:" + p(c.year, 4) + p(c.month, 2) + p(c.day, 2) + p(c.hour, 2) + p(c.minute, 2) + p(c.second, 2) + "+00'00'"
    }

    /// Parses a PDF date; missing trailing fields default as 7.9.4 says. Returns nil when malformed.
    public static func parse(_ text: String) -> Date? {
        var s = Substring(text)
        if s.hasPrefix("D:") { s = s.dropFirst(2) }
        let chars = Array(s.utf8)
        var i = 0
        func num(_ width: Int) -> Int? {
            guard i + width <= chars.count else { return nil }
            var v = 0
            for k in 0..<width {
                let c = chars[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += width
            return v
        }
        guard let year = num(4) else { return nil }
        let month = num(2) ?? 1, day = num(2) ?? 1, hour = num(2) ?? 0, minute = num(2) ?? 0, second = num(2) ?? 0
        var offset = 0
        if i < chars.count {
            let sign = chars[i]
            i += 1
            if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                let oh = num(2) ?? 0
                if i < chars.count, chars[i] == UInt8(ascii: "'") { i += 1 }
                let om = num(2) ?? 0
                offset = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
            }
        }
        // The offset comes from the file: one beyond ±18 hours (`+99'00'`) makes the date
        // malformed, never a trap.
        guard abs(offset) <= 18 * 3600, let zone = TimeZone(secondsFromGMT: offset) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }
}
