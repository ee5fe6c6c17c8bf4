import SwiftASN1

/// Internal DER helpers shared by all types of the module.
enum CMSDER {
    // MARK: Top-level decoding

    static func decode<T: DERParseable>(_ type: T.Type, from bytes: ArraySlice<UInt8>) throws -> T {
        let typeName = String(describing: T.self)
        if let elementLength = self.firstElementLength(bytes), elementLength < bytes.count {
            throw CMSStructuresError(
                code: .trailingBytes,
                message: "\(bytes.count - elementLength) byte(s) follow the top-level DER element",
                context: ["type": typeName]
            )
        }
        do {
            let node = try DER.parse(bytes)
            return try T(derEncoded: node)
        } catch let error as CMSStructuresError {
            throw error
        } catch {
            throw CMSStructuresError(code: .malformed, message: String(describing: error), context: ["type": typeName])
        }
    }

    /// Length (header + content) of the first TLV in `bytes`, if the header can be read.
    ///
    /// Returns `nil` for anything unusual (truncated header, indefinite length, absurd length); the
    /// real parser then reports the precise problem.
    static func firstElementLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        guard index < bytes.endIndex else { return nil }
        let tag = bytes[index]
        index += 1
        if tag & 0x1F == 0x1F {
            // High tag number form: base-128 digits, the last one has its top bit clear.
            while true {
                guard index < bytes.endIndex else { return nil }
                let byte = bytes[index]
                index += 1
                if byte & 0x80 == 0 { break }
            }
        }
        guard index < bytes.endIndex else { return nil }
        let firstLengthByte = bytes[index]
        index += 1
        var length = 0
        if firstLengthByte < 0x80 {
            length = Int(firstLengthByte)
        } else if firstLengthByte == 0x80 {
            return nil
        } else {
            let count = Int(firstLengthByte & 0x7F)
            guard count <= 8, bytes.endIndex - index >= count else { return nil }
            for _ in 0..<count {
                guard length <= (Int.max >> 8) else { return nil }
                length = (length << 8) | Int(bytes[index])
                index += 1
            }
        }
        let headerLength = index - bytes.startIndex
        guard length <= Int.max - headerLength else { return nil }
        return headerLength + length
    }

    // MARK: Encoding

    static func encode<T: DERSerializable>(_ value: T) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }

    /// The encoding of a SET OF in DER order, using swift-asn1's `serializeSetOf`.
    static func encodeSetOf<Elements: Sequence>(
        _ elements: Elements,
        identifier: ASN1Identifier = .set
    ) throws -> [UInt8] where Elements.Element: DERSerializable {
        var serializer = DER.Serializer()
        try serializer.serializeSetOf(elements, identifier: identifier)
        return serializer.serializedBytes
    }

    /// Sorts `elements` by their DER encodings (the X.690 §11.6 SET OF order).
    static func sortedInSetOrder<Element: DERSerializable>(_ elements: [Element]) throws -> [Element] {
        let encoded = try elements.map { try self.encode($0)[...] }
        let order = encoded.indices.sorted { lhs, rhs in
            if self.setElementLessThan(encoded[lhs], encoded[rhs]) { return true }
            if self.setElementLessThan(encoded[rhs], encoded[lhs]) { return false }
            return lhs < rhs
        }
        return order.map { elements[$0] }
    }

    // MARK: Unsigned big integers

    /// The canonical form of an unsigned INTEGER magnitude as produced by swift-asn1's
    /// `ArraySlice<UInt8>` parser: big-endian, no leading zero octets, zero as the empty slice.
    static func canonicalUnsignedInteger(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        ArraySlice(bytes.drop { $0 == 0 })
    }

    // MARK: SET OF ordering

    /// X.690 §11.6: SET OF components are ordered as octet strings, the shorter one padded at its
    /// trailing end with zero octets.
    static func setElementLessThan(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        for (leftByte, rightByte) in zip(lhs, rhs) where leftByte != rightByte {
            return leftByte < rightByte
        }
        if lhs.count >= rhs.count {
            return false
        }
        return !rhs.dropFirst(lhs.count).allSatisfy { $0 == 0 }
    }

    static func isInSetOrder<Elements: Sequence>(_ encodings: Elements) -> Bool
    where Elements.Element == ArraySlice<UInt8> {
        var previous: ArraySlice<UInt8>?
        for encoding in encodings {
            if let previous, self.setElementLessThan(encoding, previous) {
                return false
            }
            previous = encoding
        }
        return true
    }

    // MARK: Parsing helpers

    /// The children of a constructed node with the given identifier.
    static func constructedChildren(
        of node: ASN1Node,
        identifier: ASN1Identifier,
        type: String,
        field: String
    ) throws -> ASN1NodeCollection {
        guard node.identifier == identifier else {
            throw CMSStructuresError.malformed("unexpected tag \(node.identifier), expected \(identifier)", type: type, field: field)
        }
        guard case .constructed(let children) = node.content else {
            throw CMSStructuresError.malformed("expected a constructed encoding", type: type, field: field)
        }
        return children
    }

    /// Parses a DER SET OF, rejecting elements that are not in DER order with `cms.notDER`.
    static func setOf<T: DERParseable>(
        _ elementType: T.Type,
        node: ASN1Node,
        identifier: ASN1Identifier = .set,
        type: String,
        field: String,
        allowEmpty: Bool = true
    ) throws -> [T] {
        let children = try self.constructedChildren(of: node, identifier: identifier, type: type, field: field)
        guard self.isInSetOrder(children.lazy.map { $0.encodedBytes }) else {
            throw CMSStructuresError.notDER("SET OF elements are not in DER order", type: type, field: field)
        }
        let elements = try children.map { try T(derEncoded: $0) }
        if !allowEmpty && elements.isEmpty {
            throw CMSStructuresError.malformed("SET SIZE (1..MAX) must not be empty", type: type, field: field)
        }
        return elements
    }

    /// Parses a DER SEQUENCE OF.
    static func sequenceOf<T: DERParseable>(
        _ elementType: T.Type,
        node: ASN1Node,
        identifier: ASN1Identifier = .sequence,
        type: String,
        field: String,
        allowEmpty: Bool = true
    ) throws -> [T] {
        let children = try self.constructedChildren(of: node, identifier: identifier, type: type, field: field)
        let elements = try children.map { try T(derEncoded: $0) }
        if !allowEmpty && elements.isEmpty {
            throw CMSStructuresError.malformed("SEQUENCE SIZE (1..MAX) must not be empty", type: type, field: field)
        }
        return elements
    }

    /// Takes the next node out of `nodes`, throwing `cms.malformed` if there is none.
    static func next(_ nodes: inout ASN1NodeCollection.Iterator, type: String, field: String) throws -> ASN1Node {
        guard let node = nodes.next() else {
            throw CMSStructuresError.malformed("missing required field", type: type, field: field)
        }
        return node
    }

    /// Returns the next node if its identifier is `identifier`, consuming it; otherwise `nil`.
    static func nextIfPresent(_ nodes: inout ASN1NodeCollection.Iterator, identifier: ASN1Identifier) -> ASN1Node? {
        var copy = nodes
        guard let node = copy.next(), node.identifier == identifier else {
            return nil
        }
        nodes = copy
        return node
    }

    /// The single child of an EXPLICIT tag node.
    static func explicitChild(of node: ASN1Node, type: String, field: String) throws -> ASN1Node {
        guard case .constructed(let children) = node.content else {
            throw CMSStructuresError.malformed("explicit tag must be constructed", type: type, field: field)
        }
        var iterator = children.makeIterator()
        guard let child = iterator.next(), iterator.next() == nil else {
            throw CMSStructuresError.malformed("explicit tag must contain exactly one element", type: type, field: field)
        }
        return child
    }

    /// Parses a small non-negative INTEGER field.
    static func integer(
        _ node: ASN1Node,
        identifier: ASN1Identifier = .integer,
        type: String,
        field: String
    ) throws -> Int {
        do {
            return try Int(derEncoded: node, withIdentifier: identifier)
        } catch let error as ASN1Error {
            throw CMSStructuresError.malformed(String(describing: error), type: type, field: field)
        }
    }

    // MARK: Implicitly tagged, raw-preserved constructed fields

    /// For a `[n] IMPLICIT SEQUENCE`/`SET` node, returns the same element re-tagged with the
    /// universal tag `universalTag` (0x30 or 0x31), as an `ASN1Any`, preserving the content bytes.
    static func retaggedToUniversal(
        _ node: ASN1Node,
        universalTag: UInt8,
        type: String,
        field: String
    ) throws -> ASN1Any {
        guard case .constructed = node.content else {
            throw CMSStructuresError.malformed("expected a constructed encoding", type: type, field: field)
        }
        var bytes = Array(node.encodedBytes)
        bytes[0] = universalTag
        return ASN1Any(derEncoded: try DER.parse(bytes))
    }

    /// Writes `value` (whose first byte must be `expectedUniversalTag`) with its first identifier
    /// octet replaced by the constructed context-specific tag `[tagNumber]`.
    static func serializeRetagged(
        _ value: ASN1Any,
        expectedUniversalTag: UInt8,
        contextTagNumber: UInt8,
        into coder: inout DER.Serializer,
        type: String,
        field: String
    ) throws {
        precondition(contextTagNumber < 0x1F)
        var bytes = value.cmsDERBytes
        guard bytes.first == expectedUniversalTag else {
            throw CMSStructuresError(
                code: .serializationFailed,
                message: "raw value must start with tag 0x\(String(expectedUniversalTag, radix: 16))",
                context: ["type": type, "field": field]
            )
        }
        bytes[0] = 0xA0 | contextTagNumber
        coder.serializeRawBytes(bytes)
    }
}

extension ASN1Any {
    /// The complete DER encoding held by this `ASN1Any`.
    var cmsDERBytes: [UInt8] {
        var serializer = DER.Serializer()
        // `ASN1Any.serialize` only appends its stored bytes and cannot fail.
        try? serializer.serialize(self)
        return serializer.serializedBytes
    }

    /// The first identifier octet of the stored element.
    var cmsFirstIdentifierOctet: UInt8? {
        self.cmsDERBytes.first
    }

    /// `ASN1Any` holding the DER encoding of NULL (`05 00`).
    static let cmsNull: ASN1Any = {
        // Serializing ASN1Null cannot fail.
        try! ASN1Any(erasing: ASN1Null())
    }()
}
