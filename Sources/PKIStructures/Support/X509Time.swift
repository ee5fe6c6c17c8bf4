import Foundation
import SwiftASN1

/// An X.509 `Time` (RFC 5280 4.1.2.5, used by CRLs in 5.1.2.4-5.1.2.6):
///
/// ```
/// Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
/// ```
///
/// Dates in 1950-2049 are written as UTCTime, all others as GeneralizedTime, always in UTC
/// ("Z") and in whole seconds (fractions are dropped), as RFC 5280 requires of conforming CAs.
package enum X509Time: DERParseable, DERSerializable, Hashable, Sendable {
    case utcTime(UTCTime)
    case generalizedTime(GeneralizedTime)

    private static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    package init(_ date: Date) throws {
        let c = Self.calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Self.wholeSeconds(date))
        if let year = c.year, (1950...2049).contains(year) {
            self = .utcTime(try UTCTime(year: year, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!, seconds: c.second!))
        } else {
            self = .generalizedTime(try Self.generalizedTime(date))
        }
    }

    /// A GeneralizedTime in whole seconds, UTC (RFC 5280 4.1.2.5.2; RFC 6960 uses it for every time).
    package static func generalizedTime(_ date: Date) throws -> GeneralizedTime {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: wholeSeconds(date))
        return try GeneralizedTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!,
                                   seconds: c.second!, fractionalSeconds: 0)
    }

    /// `date` truncated to a whole second.
    package static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: floor(date.timeIntervalSince1970))
    }

    package static func date(_ time: GeneralizedTime) -> Date {
        let c = DateComponents(year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
        return (calendar.date(from: c) ?? Date(timeIntervalSince1970: 0)).addingTimeInterval(time.fractionalSeconds)
    }

    package var date: Date {
        switch self {
        case .utcTime(let t):
            let c = DateComponents(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
            return Self.calendar.date(from: c) ?? Date(timeIntervalSince1970: 0)
        case .generalizedTime(let t):
            return Self.date(t)
        }
    }

    package init(derEncoded node: ASN1Node) throws {
        switch node.identifier {
        case .utcTime: self = .utcTime(try UTCTime(derEncoded: node))
        case .generalizedTime: self = .generalizedTime(try GeneralizedTime(derEncoded: node))
        default: throw ASN1Error.unexpectedFieldType(node.identifier)
        }
    }

    package func serialize(into coder: inout DER.Serializer) throws {
        switch self {
        case .utcTime(let t): try coder.serialize(t)
        case .generalizedTime(let t): try coder.serialize(t)
        }
    }
}
