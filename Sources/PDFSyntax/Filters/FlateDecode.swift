import CZlib

/// FlateDecode (ISO 32000-1 7.4.4) with the PNG and TIFF predictors of 7.4.4.4, as used by
/// cross-reference and object streams. Output is bounded so a compression bomb is an error.
public enum FlateDecode {
    /// Inflates `input`, producing at most `maxOutput` bytes.
    ///
    /// The decoder streams through a 64 KiB window: output grows only as it is produced (never
    /// reserved up front beyond four times the input, and never beyond `maxOutput`), and decoding
    /// stops with `pdf.limitExceeded` as soon as the output would pass `maxOutput`. A
    /// decompression bomb (a gigabyte of zeros is about a megabyte compressed) therefore costs at
    /// most `maxOutput` bytes of memory and the time to inflate that much, whatever it claims.
    /// Callers pass what they can need (``PDFReaderLimits/maxDecodedStreamBytes``, or for an xref
    /// stream what its `/W` and `/Index` announce).
    public static func decode(_ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        let maxOutput = max(0, maxOutput)
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw PDFError(.decode, "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        let (fourTimes, overflow) = input.count.multipliedReportingOverflow(by: 4)
        output.reserveCapacity(min(maxOutput, max(1024, overflow ? Int.max : fourTimes)))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuf in
            // zlib never writes through next_in; the cast only satisfies its C signature.
            stream.next_in = inBuf.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
            var remaining = inBuf.count
            repeat {
                // avail_in is 32 bits: feed very large inputs in slices.
                if stream.avail_in == 0 && remaining > 0 {
                    let slice = min(remaining, Int(UInt32.max))
                    stream.avail_in = uInt(slice)
                    remaining -= slice
                }
                try chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    let produced = outBuf.count - Int(stream.avail_out)
                    if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                        // Keep what decoded: many writers end streams without the zlib checksum.
                        if status == Z_DATA_ERROR && !output.isEmpty { status = Z_STREAM_END; return }
                        throw PDFError(.decode, "FlateDecode data is corrupt (zlib status \(status))")
                    }
                    guard produced <= maxOutput - output.count else {
                        throw PDFError(.limitExceeded, "the stream decodes to more than \(maxOutput) bytes, more than the reader needs from it (a decompression bomb?); decoding stopped there")
                    }
                    if output.count + produced > output.capacity {
                        // Grow geometrically but never past the cap, so memory stays bounded by it.
                        output.reserveCapacity(min(maxOutput, max(output.count + produced, output.capacity * 2)))
                    }
                    output.append(contentsOf: outBuf[0..<produced])
                    if status == Z_BUF_ERROR && produced == 0 { status = Z_STREAM_END }
                }
            } while status != Z_STREAM_END && (stream.avail_in > 0 || remaining > 0 || stream.avail_out == 0)
        }
        return output
    }

    /// Undoes a predictor (7.4.4.4). `predictor` 1 means none, 2 TIFF, 10...15 PNG (per row tag).
    public static func unpredict(_ data: [UInt8], predictor: Int, colors: Int, bitsPerComponent: Int, columns: Int) throws -> [UInt8] {
        if predictor <= 1 { return data }
        guard colors >= 1, colors <= 32, [1, 2, 4, 8, 16].contains(bitsPerComponent), columns >= 1, columns <= 1 << 20 else {
            throw PDFError(.decode, "invalid predictor parameters (Colors \(colors), BitsPerComponent \(bitsPerComponent), Columns \(columns))")
        }
        let bpp = max(1, (colors * bitsPerComponent + 7) / 8)
        // Rows longer than the data cannot be complete: a row of at most data.count bytes decodes
        // the same, and /Columns from the file cannot make the row buffers large.
        let rowLength = min((colors * bitsPerComponent * columns + 7) / 8, max(1, data.count))
        if predictor == 2 {
            guard bitsPerComponent == 8 else { throw PDFError(.decode, "TIFF predictor supported for 8-bit components only") }
            var out = data
            var rowStart = 0
            while rowStart < out.count {
                let end = min(out.count, rowStart + rowLength)
                if rowStart + bpp < end {
                    for i in (rowStart + bpp)..<end { out[i] = out[i] &+ out[i - bpp] }
                }
                rowStart += rowLength
            }
            return out
        }
        guard predictor >= 10 else { throw PDFError(.decode, "unknown predictor \(predictor)") }
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var prev = [UInt8](repeating: 0, count: rowLength)
        var row = [UInt8](repeating: 0, count: rowLength)
        var i = 0
        while i < data.count {
            let tag = data[i]
            i += 1
            let available = min(rowLength, data.count - i)
            for k in 0..<rowLength { row[k] = k < available ? data[i + k] : 0 }
            i += available
            for k in 0..<rowLength {
                let left: UInt8 = k >= bpp ? row[k - bpp] : 0
                let up = prev[k]
                let upLeft: UInt8 = k >= bpp ? prev[k - bpp] : 0
                switch tag {
                case 0: break
                case 1: row[k] = row[k] &+ left
                case 2: row[k] = row[k] &+ up
                case 3: row[k] = row[k] &+ UInt8((Int(left) + Int(up)) / 2)
                case 4:
                    let p = Int(left) + Int(up) - Int(upLeft)
                    let pa = abs(p - Int(left)), pb = abs(p - Int(up)), pc = abs(p - Int(upLeft))
                    let pred = (pa <= pb && pa <= pc) ? left : (pb <= pc ? up : upLeft)
                    row[k] = row[k] &+ pred
                default:
                    throw PDFError(.decode, "invalid PNG predictor row tag \(tag)")
                }
            }
            out.append(contentsOf: row[0..<available])
            swap(&prev, &row)
        }
        return out
    }
}
