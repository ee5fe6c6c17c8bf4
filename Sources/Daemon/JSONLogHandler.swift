import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line to standard output:
/// `{"label":…,"level":…,"msg":…,"ts":…, …metadata}` with keys sorted. Metadata keys that clash
/// with the fixed ones are prefixed with `meta.`. Callers must never put secrets or document
/// contents into messages or metadata (job ids, codes, paths and digests only).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: JSONLogSink

    public init(label: String, sink: JSONLogSink = .standardOutput, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = .string("\(error)") }
        sink.write(Self.render(ts: Date(), level: event.level, label: label, message: event.message.description, metadata: merged))
    }

    static let fixedKeys: Set<String> = ["ts", "level", "label", "msg"]

    /// One line of JSON (no trailing newline). Written by hand (sorted keys, RFC 8259 string
    /// escaping, `/` unescaped): JSONSerialization over an `[String: Any]` cost the daemon more
    /// CPU per job than the signature's embedding.
    public static func render(ts: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var object: [String: Logger.Metadata.Value] = ["ts": .string(timestamp(ts)), "level": .string(level.rawValue),
                                                       "label": .string(label), "msg": .string(message)]
        for (key, value) in metadata {
            object[fixedKeys.contains(key) ? "meta." + key : key] = value
        }
        var out = ""
        out.reserveCapacity(256)
        append(.dictionary(object), to: &out)
        return out
    }

    static func append(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let s): appendString(s, to: &out)
        case .stringConvertible(let c): appendString(c.description, to: &out)
        case .array(let a):
            out.append("[")
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(",") }
                append(v, to: &out)
            }
            out.append("]")
        case .dictionary(let d):
            out.append("{")
            for (i, key) in d.keys.sorted().enumerated() {
                if i > 0 { out.append(",") }
                appendString(key, to: &out)
                out.append(":")
                append(d[key]!, to: &out)
            }
            out.append("}")
        }
    }

    static func appendString(_ s: String, to out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }

    static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        let millis = max(0, min(999, Int((date.timeIntervalSince1970 - Double(t)) * 1000)))
        // Digits by hand: String(format:) went through Foundation's formatter on every log line.
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(48 + (v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(0x2D)
        digits(Int(parts.tm_mon) + 1, 2); out.append(0x2D)
        digits(Int(parts.tm_mday), 2); out.append(0x54)
        digits(Int(parts.tm_hour), 2); out.append(0x3A)
        digits(Int(parts.tm_min), 2); out.append(0x3A)
        digits(Int(parts.tm_sec), 2); out.append(0x2E)
        digits(millis, 3); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where JSON log lines go; writes are whole lines under a lock, so lines never interleave.
public final class JSONLogSink: @unchecked Sendable {
    private let lock = NSLock()
    private let output: (String) -> Void

    public init(_ output: @escaping (String) -> Void) { self.output = output }

    public static let standardOutput = JSONLogSink { line in
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    func write(_ line: String) { lock.withLock { output(line) } }
}

/// A fresh trace id: 16 lowercase hex digits (64 random bits), one per job attempt.
public enum TraceID {
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        let v = g.next() as UInt64
        let hex = String(v, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
