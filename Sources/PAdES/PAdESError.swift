import CMSSigning

/// The one error type of the PAdES layer: CMS signing's error type, so that a key, signer or
/// signature failure and a PAdES failure are caught and reported alike (stable codes).
public typealias PAdESError = CMSSigningError

extension CMSSigningError.Code {
    /// A size that sizes the `/Contents` placeholder (maximum signature size, timestamp
    /// reserve) is negative or absurd (it may come from a saved external-signing state).
    public static let sizeOutOfRange = CMSSigningError.Code(rawValue: "signature.sizeOutOfRange")
    /// The prepared state was used with different inputs.
    public static let preparedStateMismatch = CMSSigningError.Code(rawValue: "signature.preparedStateMismatch")
}
