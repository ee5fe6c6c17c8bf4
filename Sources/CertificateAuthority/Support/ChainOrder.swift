import X509

/// Orders CA certificates as a chain: the one that issued `leaf` (or, without a leaf, the one
/// that issued no other) first, then its issuer, up to the root; certificates that do not fit
/// the chain follow in their original order. Duplicates and the leaf itself are dropped.
enum ChainOrder {
    static func order(_ certificates: [Certificate], leaf: Certificate?) -> [Certificate] {
        var pool: [Certificate] = []
        for c in certificates where c != leaf && !pool.contains(c) { pool.append(c) }
        var current: DistinguishedName
        if let leaf {
            current = leaf.issuer
        } else if let lowest = pool.first(where: { c in !pool.contains { $0 != c && $0.issuer == c.subject } }) {
            current = lowest.subject
        } else {
            return pool
        }
        var ordered: [Certificate] = []
        while let index = pool.firstIndex(where: { $0.subject == current }) {
            let next = pool.remove(at: index)
            ordered.append(next)
            if next.issuer == next.subject { break }
            current = next.issuer
        }
        return ordered + pool
    }
}
