import CZlib

/// FlateDecode (ISO 32000-1 7.4.4) with the PNG and TIFF predictors of 7.4.4.4, as used by
/// cross-reference and object streams. Output is bounded so a compression bomb is an error.
public enum FlateDecode {
    /// Inflates `input`, producing at most `maxOutput` bytes (see
    /// ``decode(length:maxOutput:read:)``).
    public static func decode(_ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        try decode(length: input.count, maxOutput: maxOutput) { position, count in
            Array(input[position..<(position + count)])
        }
    }

    /// Inflates `length` bytes of compressed data that `read(position, count)` supplies in
    /// pieces of at most 256 KiB, producing at most `maxOutput` bytes.
    ///
    /// Both sides stream: the input is read piece by piece (never held whole), the output is
    /// written through a 64 KiB window into one buffer reserved for `maxOutput` bytes (address
    /// space only: pages become resident as output fills them, and the buffer is never copied to
    /// grow, so the peak is the output itself), and decoding stops with `pdf.limitExceeded` as soon
    /// as the output would pass `maxOutput`. A decompression bomb (a gigabyte of zeros is a few
    /// megabytes compressed) therefore costs at most `maxOutput` bytes of memory and the time to
    /// inflate that much, whatever it claims. Callers pass what they can need
    /// (``PDFReaderLimits/maxDecodedStreamBytes``, or for an xref stream what its `/W` and
    /// `/Index` announce).
    public static func decode(length: Int, maxOutput: Int, read: (_ position: Int, _ count: Int) throws -> [UInt8]) throws -> [UInt8] {
        let maxOutput = max(0, maxOutput)
        let length = max(0, length)
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw PDFError(.decode, "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(maxOutput)
        var window = [UInt8](repeating: 0, count: 64 * 1024)
        var consumed = 0
        var finished = false
        while !finished {
            let piece = consumed < length ? try read(consumed, min(256 * 1024, length - consumed)) : []
            if consumed < length && piece.isEmpty {
                throw PDFError(.truncated, "FlateDecode data ends after \(consumed) of \(length) bytes")
            }
            consumed += piece.count
            let last = consumed >= length
            try piece.withUnsafeBufferPointer { inBuf in
                // zlib never writes through next_in; the cast only satisfies its C signature.
                stream.next_in = inBuf.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
                stream.avail_in = uInt(inBuf.count)
                repeat {
                    var status: Int32 = Z_OK
                    var produced = 0
                    window.withUnsafeMutableBufferPointer { outBuf in
                        stream.next_out = outBuf.baseAddress
                        stream.avail_out = uInt(outBuf.count)
                        status = inflate(&stream, Z_NO_FLUSH)
                        produced = outBuf.count - Int(stream.avail_out)
                    }
                    if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                        // Keep what decoded: many writers end streams without the zlib checksum.
                        if status == Z_DATA_ERROR && !output.isEmpty { finished = true; return }
                        throw PDFError(.decode, "FlateDecode data is corrupt (zlib status \(status))")
                    }
                    guard produced <= maxOutput - output.count else {
                        throw PDFError(.limitExceeded, "the stream decodes to more than \(maxOutput) bytes, more than the reader needs from it (a decompression bomb?); decoding stopped there")
                    }
                    output.append(contentsOf: window[0..<produced])
                    if status == Z_STREAM_END { finished = true; return }
                    if status == Z_BUF_ERROR && produced == 0 {
                        // No progress: more input is needed, or (after the last piece) the data
                        // simply ends, as it does for writers that omit the checksum.
                        if last { finished = true }
                        return
                    }
                } while stream.avail_in > 0 || stream.avail_out == 0
                if last { finished = true }
            }
        }
        // Give back the unused reservation of a small result (a copy of at most a quarter of it).
        return output.capacity > 1 << 20 && output.count < output.capacity / 4 ? Array(output[...]) : output
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
