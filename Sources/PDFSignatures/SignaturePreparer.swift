import PDFSyntax

/// Phase one of signing: builds the incremental update that adds (or fills) a signature field
/// and its signature dictionary with a reserved `/Contents`, and fixes `/ByteRange`.
///
/// The field is a merged field/widget annotation (12.5.6.19, 12.7.4.5): `/FT /Sig`, `/F 132`
/// (Print + Locked), attached to the page's `/Annots` and to `/AcroForm /Fields`, with
/// `/SigFlags 3`. Existing fields are kept. All entries of the signature dictionary are direct.
public enum SignaturePreparer {
    /// The largest `/Contents` capacity: 32 MiB of DER, 64 MiB of hex digits, which is also the
    /// largest gap ``SignatureInspector`` reads as a `/Contents` token.
    public static let maximumContentsCapacity = 32 << 20

    /// - Parameters:
    ///   - contentsCapacity: bytes reserved for the DER CMS (written as twice as many hex digits).
    ///   - documentID: 16 bytes for the second element of the trailer `/ID` (the first is kept, or
    ///     set to the same value when the document had none). Derive it deterministically from the
    ///     inputs for reproducible output.
    public static func prepare(document: PDFDocument, request: SignatureRequest, contentsCapacity: Int, documentID: [UInt8]) throws -> PreparedSignature {
        guard (1...maximumContentsCapacity).contains(contentsCapacity) else {
            throw SignatureEmbeddingError(.capacityOutOfRange, "a /Contents capacity of \(contentsCapacity) bytes was requested; it must be 1...\(maximumContentsCapacity)")
        }
        var update = try IncrementalUpdate(document: document)
        let catalogRef = document.catalogReference
        var catalog = try document.catalog()
        var catalogChanged = false

        // Interactive form: direct in the catalog, indirect, or absent.
        var acroForm: PDFDictionary
        var acroFormRef: PDFReference?
        switch catalog["AcroForm"] {
        case .reference(let r)?:
            acroFormRef = r
            acroForm = try document.resolveDictionary(.reference(r)) ?? PDFDictionary()
        case .dictionary(let d)?:
            acroForm = d
        default:
            acroForm = PDFDictionary()
        }
        if acroFormRef == nil {
            acroFormRef = try update.allocate()
            catalog["AcroForm"] = .reference(acroFormRef!)
            catalogChanged = true
        }

        let existing = try FormFields.all(in: document)
        let sigRef = try update.allocate()
        let fieldName: String
        if let requested = request.fieldName {
            guard !requested.isEmpty, !requested.contains(".") else {
                throw SignatureEmbeddingError(.invalidFieldName, "field name '\(requested)' is empty or contains '.'; use a plain name such as 'Signature1'")
            }
            fieldName = requested
        } else {
            let names = Set(existing.map(\.name))
            var n = 1
            while names.contains("Signature\(n)") { n += 1 }
            fieldName = "Signature\(n)"
        }

        if let field = existing.first(where: { $0.name == fieldName }) {
            guard field.fieldType == "Sig" else {
                throw SignatureEmbeddingError(.fieldNotSignature, "field '\(fieldName)' exists but is a \(field.fieldType ?? "typeless") field, not a signature field; choose another name")
            }
            guard field.dictionary["V"] == nil else {
                throw SignatureEmbeddingError(.fieldAlreadySigned, "field '\(fieldName)' already holds a signature; omit --field to add a new signature field, or name an empty one")
            }
            var filled = field.dictionary
            filled["V"] = .reference(sigRef)
            if filled["Type"]?.name == "Annot" { filled["F"] = .integer(132) }
            update.set(field.reference, .dictionary(filled))
        } else {
            let pageCount = try document.pageCount()
            guard request.pageIndex >= 0, request.pageIndex < pageCount else {
                throw SignatureEmbeddingError(.pageOutOfRange, "page \(request.pageIndex + 1) does not exist; the document has \(pageCount) page(s)")
            }
            let (pageRef, page) = try document.page(at: request.pageIndex)
            let widgetRef = try update.allocate()
            var widget = PDFDictionary()
            widget["Type"] = .name("Annot")
            widget["Subtype"] = .name("Widget")
            widget["FT"] = .name("Sig")
            widget["T"] = .string(PDFString(text: fieldName))
            widget["V"] = .reference(sigRef)
            widget["P"] = .reference(pageRef)
            widget["Rect"] = .array(request.rect.map { .real($0) })
            widget["F"] = .integer(132)
            update.set(widgetRef, .dictionary(widget))

            // Page /Annots: direct array in the page, an indirect array, or absent.
            var newPage = page
            switch page["Annots"] {
            case .reference(let r)?:
                let annots = (try document.resolve(.reference(r)).array ?? []) + [.reference(widgetRef)]
                update.set(r, .array(annots))
            case .array(let a)?:
                newPage["Annots"] = .array(a + [.reference(widgetRef)])
                update.set(pageRef, .dictionary(newPage))
            default:
                newPage["Annots"] = .array([.reference(widgetRef)])
                update.set(pageRef, .dictionary(newPage))
            }

            // /AcroForm /Fields: direct array, indirect array, or absent.
            switch acroForm["Fields"] {
            case .reference(let r)?:
                let fields = (try document.resolve(.reference(r)).array ?? []) + [.reference(widgetRef)]
                update.set(r, .array(fields))
            case .array(let a)?:
                acroForm["Fields"] = .array(a + [.reference(widgetRef)])
            default:
                acroForm["Fields"] = .array([.reference(widgetRef)])
            }
        }
        acroForm["SigFlags"] = .integer(3)
        update.set(acroFormRef!, .dictionary(acroForm))
        if catalogChanged { update.set(catalogRef, .dictionary(catalog)) }

        // The signature dictionary, with placeholders located after serialisation.
        let width = max(10, String(document.source.length + Int64(contentsCapacity) * 2 + 1 << 20).count)
        let marker = Int64(String(repeating: "9", count: width))!
        var sig = PDFDictionary()
        sig["Type"] = .name(PDFName(request.type))
        sig["Filter"] = .name(PDFName(request.filter))
        sig["SubFilter"] = .name(PDFName(request.subFilter))
        sig["ByteRange"] = .array([.integer(0), .integer(marker), .integer(marker), .integer(marker)])
        sig["Contents"] = .string(PDFString(bytes: [UInt8](repeating: 0, count: contentsCapacity), isHex: true))
        if request.type == "Sig" { sig["M"] = .string(PDFString(text: PDFDate.format(request.signingTime))) }
        if let v = request.name { sig["Name"] = .string(PDFString(text: v)) }
        if let v = request.reason { sig["Reason"] = .string(PDFString(text: v)) }
        if let v = request.location { sig["Location"] = .string(PDFString(text: v)) }
        if let v = request.contactInfo { sig["ContactInfo"] = .string(PDFString(text: v)) }
        update.set(sigRef, .dictionary(sig))

        var id = PDFDictionary()
        let second = PDFObject.string(PDFString(bytes: documentID, isHex: true))
        if let first = document.trailer["ID"]?.array?.first, first.string != nil {
            id["ID"] = .array([first, second])
        } else {
            id["ID"] = .array([second, second])
        }

        var (bytes, offsets) = try update.serialize(trailerOverrides: id)
        let sigStart = offsets[sigRef]!
        let placeholder = Array("[0 \(marker) \(marker) \(marker)]".utf8)
        guard let brStart = ByteSearch.first(placeholder, in: bytes, from: sigStart),
              let contentsStart = ByteSearch.first(Array("/Contents <".utf8), in: bytes, from: sigStart).map({ $0 + 10 }) else {
            throw SignatureEmbeddingError(.malformedSignature, "internal: placeholders not found in the serialised signature dictionary")
        }
        let contentsEnd = contentsStart + 2 + contentsCapacity * 2
        let fileLength = document.source.length
        let a = fileLength + Int64(contentsStart)
        let b = fileLength + Int64(contentsEnd)
        let c = fileLength + Int64(bytes.count) - b
        var text = "[0 \(a) \(b) \(c)]"
        // Same width as the placeholder so no offset moves.
        let padding = placeholder.count - text.utf8.count
        text = String(text.dropLast()) + String(repeating: " ", count: padding) + "]"
        bytes.replaceSubrange(brStart..<(brStart + placeholder.count), with: Array(text.utf8))
        return PreparedSignature(
            base: update.base, update: bytes, contentsTokenStart: contentsStart, contentsTokenEnd: contentsEnd,
            byteRange: [0, a, b, c], contentsCapacity: contentsCapacity, fieldName: fieldName)
    }
}
