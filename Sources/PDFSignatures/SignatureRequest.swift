import Foundation
import PDFSyntax

/// What to write into the signature field and signature dictionary (ISO 32000-1 12.7.4.5, 12.8.1).
public struct SignatureRequest: Sendable, Hashable, Codable {
    /// Field to create, or an existing empty signature field to fill. `nil` picks a unique name.
    public var fieldName: String?
    /// Page (0-based) the widget is attached to.
    public var pageIndex: Int
    /// Widget rectangle; `[0 0 0 0]` makes the signature invisible.
    public var rect: [Double]
    /// `/Filter` (handler) and `/SubFilter` (encoding) of the signature dictionary.
    public var filter: String
    public var subFilter: String
    /// `/Type` of the dictionary: `Sig`, or `DocTimeStamp` for document timestamps.
    public var type: String
    /// The claimed signing time, written as `/M`.
    public var signingTime: Date
    public var reason: String?
    public var location: String?
    public var contactInfo: String?
    public var name: String?

    public init(fieldName: String? = nil, pageIndex: Int = 0, rect: [Double] = [0, 0, 0, 0],
                filter: String = "Adobe.PPKLite", subFilter: String = "ETSI.CAdES.detached", type: String = "Sig",
                signingTime: Date, reason: String? = nil, location: String? = nil, contactInfo: String? = nil, name: String? = nil) {
        self.fieldName = fieldName
        self.pageIndex = pageIndex
        self.rect = rect
        self.filter = filter
        self.subFilter = subFilter
        self.type = type
        self.signingTime = signingTime
        self.reason = reason
        self.location = location
        self.contactInfo = contactInfo
        self.name = name
    }
}
