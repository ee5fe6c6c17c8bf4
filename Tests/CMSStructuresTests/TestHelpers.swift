import CMSStructures
import Foundation
import SwiftASN1
import XCTest

/// Decodes a base64 literal (whitespace ignored).
func bytes(_ base64: String) -> [UInt8] {
    guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
        preconditionFailure("invalid base64 test vector")
    }
    return [UInt8](data)
}

/// Decodes a hex string (whitespace ignored).
func hex(_ string: String) -> [UInt8] {
    let digits = Array(string.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd hex length")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Build -> serialize -> parse -> equal, and serialize(parse(bytes)) == bytes.
@discardableResult
func assertRoundTrip<T: CMSDERCodable>(
    _ value: T,
    file: StaticString = #filePath,
    line: UInt = #line
) throws -> [UInt8] {
    let encoded = try value.derEncoded()
    let parsed = try T(derEncoded: encoded)
    XCTAssertEqual(parsed, value, "value changed across a DER round trip", file: file, line: line)
    XCTAssertEqual(try parsed.derEncoded(), encoded, "re-serialization is not byte-identical", file: file, line: line)
    return encoded
}

/// Parses `bytes` as `T` and checks that re-serialization gives the same bytes.
@discardableResult
func assertByteIdentical<T: CMSDERCodable>(
    _ type: T.Type,
    _ bytes: [UInt8],
    file: StaticString = #filePath,
    line: UInt = #line
) throws -> T {
    let parsed = try T(derEncoded: bytes)
    XCTAssertEqual(try parsed.derEncoded(), bytes, "re-serialization of \(T.self) is not byte-identical", file: file, line: line)
    return parsed
}

/// Asserts that `body` throws a `CMSStructuresError` with the given code.
func assertThrowsCode<T>(
    _ code: CMSStructuresError.Code,
    file: StaticString = #filePath,
    line: UInt = #line,
    _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected error \(code.rawValue), but no error was thrown", file: file, line: line)
    } catch let error as CMSStructuresError {
        XCTAssertEqual(error.code, code, "wrong error code (\(error))", file: file, line: line)
    } catch {
        XCTFail("expected CMSStructuresError \(code.rawValue), got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// DER encoding of anything serializable.
func der<T: DERSerializable>(_ value: T) throws -> [UInt8] {
    var serializer = DER.Serializer()
    try serializer.serialize(value)
    return serializer.serializedBytes
}

/// Builds DER bytes with a serializer closure.
func der(_ build: (inout DER.Serializer) throws -> Void) rethrows -> [UInt8] {
    var serializer = DER.Serializer()
    try build(&serializer)
    return serializer.serializedBytes
}

let contextTag0 = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
let contextTag1 = ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
let contextTag2 = ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)
let contextTag3 = ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific)

/// SHA-256("hello signd\n")
let dataSHA256 = hex("1cd55187dd983c1be3e519e4fc339ced25b5b4797e95a4116b177bb117f016bf")
