import PDFSyntax

/// A terminal form field found by walking `/AcroForm /Fields` (ISO 32000-1 12.7.3.1).
public struct FormField: Sendable {
    /// Fully qualified name (parent names joined by `.`).
    public var name: String
    public var reference: PDFReference
    public var dictionary: PDFDictionary
    /// Field type, inherited from ancestors when absent (`/FT`).
    public var fieldType: String?
}

public enum FormFields {
    /// All terminal fields of the document's interactive form, in document order.
    public static func all(in document: PDFDocument) throws -> [FormField] {
        guard let acroForm = try document.resolveDictionary(try document.catalog()["AcroForm"]),
              let fields = try document.resolve(acroForm["Fields"]).array else { return [] }
        var result: [FormField] = []
        var visited: Set<PDFReference> = []
        func walk(_ items: [PDFObject], prefix: String, inheritedType: String?, depth: Int) throws {
            guard depth < 64 else { throw PDFError(.limitExceeded, "form field tree deeper than 64 levels") }
            for item in items {
                guard let ref = item.reference, visited.insert(ref).inserted,
                      let dict = try document.resolveDictionary(item) else { continue }
                let partial = (dict["T"]?.string?.text)
                let name = partial.map { prefix.isEmpty ? $0 : prefix + "." + $0 } ?? prefix
                let type = dict["FT"]?.name?.value ?? inheritedType
                let kids = try document.resolve(dict["Kids"]).array ?? []
                // Kids that carry /T are fields; kids without are widgets of this field.
                var fieldKids: [PDFObject] = []
                for kid in kids {
                    if let kd = try document.resolveDictionary(kid), kd["T"] != nil { fieldKids.append(kid) }
                }
                if fieldKids.isEmpty {
                    result.append(FormField(name: name, reference: ref, dictionary: dict, fieldType: type))
                } else {
                    try walk(fieldKids, prefix: name, inheritedType: type, depth: depth + 1)
                }
            }
        }
        try walk(fields, prefix: "", inheritedType: nil, depth: 0)
        return result
    }
}
