import Foundation

/// The set of certificate profiles the embedded CA issues under, looked up by name.
///
/// The built-in ``CertificateProfile/default`` profile is always present; configuring a
/// profile named `default` replaces it.
public struct CertificateProfiles: Sendable {
    private let byName: [String: CertificateProfile]

    /// Only the built-in `default` profile.
    public static let builtIn = try! CertificateProfiles([])

    /// Validates every profile (`ca.invalidProfile`); duplicate names are an error too.
    public init(_ profiles: [CertificateProfile]) throws {
        var map: [String: CertificateProfile] = [CertificateProfile.default.name: .default]
        var seen = Set<String>()
        for profile in profiles {
            try profile.validate()
            guard seen.insert(profile.name).inserted else {
                throw CertificateAuthorityError(.invalidProfile, "certificate profile '\(profile.name)' is defined twice")
            }
            map[profile.name] = profile
        }
        byName = map
    }

    /// The profile with this name, or `ca.unknownProfile`.
    public func profile(named name: String) throws -> CertificateProfile {
        guard let profile = byName[name] else {
            throw CertificateAuthorityError(.unknownProfile, "no certificate profile named '\(name)'; configured: \(names.joined(separator: ", "))")
        }
        return profile
    }

    /// All profile names, sorted.
    public var names: [String] { byName.keys.sorted() }
}
