/// Checked arithmetic on numbers that come from the file.
///
/// Every offset, length and count a PDF states is untrusted: `startxref 9223372036854775807`, a
/// subsection `1 9223372036854775807` or `/Index [9223372036854775800 100]` must be an error with a
/// code, never a trap. These helpers do the arithmetic with overflow reporting and throw
/// `pdf.numberOutOfRange` naming what was computed and where.
extension Int64 {
    /// `self + other`, or `pdf.numberOutOfRange` when the sum does not fit in 64 bits.
    package func checkedAdding(_ other: Int64, _ what: @autoclosure () -> String, offset: Int64? = nil, objectNumber: Int? = nil) throws -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard !overflow else {
            throw PDFError(.numberOutOfRange, "\(what()) overflows: \(self) + \(other) is beyond 64-bit offsets; the file is damaged or hostile", offset: offset, objectNumber: objectNumber)
        }
        return sum
    }

    /// `self` as an `Int` that is at least `minimum` and at most `maximum`, or
    /// `pdf.numberOutOfRange` naming the value.
    package func checkedInt(in range: ClosedRange<Int>, _ what: @autoclosure () -> String, offset: Int64? = nil, objectNumber: Int? = nil) throws -> Int {
        guard let value = Int(exactly: self), range.contains(value) else {
            throw PDFError(.numberOutOfRange, "\(what()) is \(self), outside \(range.lowerBound)...\(range.upperBound)", offset: offset, objectNumber: objectNumber)
        }
        return value
    }
}

extension Int {
    /// `self + other`, or `pdf.numberOutOfRange` when the sum overflows.
    package func checkedAdding(_ other: Int, _ what: @autoclosure () -> String, offset: Int64? = nil, objectNumber: Int? = nil) throws -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        guard !overflow else {
            throw PDFError(.numberOutOfRange, "\(what()) overflows: \(self) + \(other)", offset: offset, objectNumber: objectNumber)
        }
        return sum
    }

    /// `self * other`, or `pdf.numberOutOfRange` when the product overflows.
    package func checkedMultiplied(by other: Int, _ what: @autoclosure () -> String, offset: Int64? = nil, objectNumber: Int? = nil) throws -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard !overflow else {
            throw PDFError(.numberOutOfRange, "\(what()) overflows: \(self) × \(other)", offset: offset, objectNumber: objectNumber)
        }
        return product
    }
}

extension PDFReaderLimits {
    /// How many objects (entries of one xref section, `/Size`, object numbers, `/N` of an object
    /// stream) a file of `fileLength` bytes may claim: one per byte of the file, at least
    /// ``minimumObjectAllowance``, at most ``maxObjects``. Every object takes at least one byte
    /// (a classic xref entry takes 20), so a claim beyond this is not a real file.
    public func objectAllowance(fileLength: Int64) -> Int {
        let byLength = Int(clamping: Swift.max(0, fileLength))
        return Swift.min(maxObjects, Swift.max(minimumObjectAllowance, byLength))
    }
}
