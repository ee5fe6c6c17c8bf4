import Daemon
import Foundation
import StateStore
#if canImport(Glibc)
import Glibc
#endif

/// What /health/ready checks (docs/operations.md): the state and audit databases are writable,
/// every spool's directories are writable, and the CA and TSA signd depends on can be reached.
/// Embedded CA and TSA run in-process, so they are reachable when the daemon runs; for EJBCA and
/// remote TSAs, "reachable" means their host accepts a TCP connection within two seconds (the
/// same check a load balancer makes; a real request would cost a timestamp or a CA call each
/// time). With several TSA URLs (failover), one reachable TSA is enough. Results are cached for
/// five seconds so that a probe storm does not become a connection storm. PowerAuth Server, when
/// configured, is checked the same way (a TCP connection, no call: an operation/detail costs
/// PowerAuth a database read each time).
actor ReadinessProbe {
    struct Endpoint: Sendable {
        let role: String  // "CA", "TSA" or "PowerAuth"
        let url: String
    }

    let database: StateDatabase
    let databasePaths: [String]
    let spoolDirectories: [String]
    let ca: Endpoint?
    let tsas: [Endpoint]
    let powerAuth: Endpoint?
    let auditHealth: AuditHealth?
    private var cached: (at: Date, problems: [String])?

    init(database: StateDatabase, databasePaths: [String], spoolDirectories: [String], ca: Endpoint?, tsas: [Endpoint], powerAuth: Endpoint? = nil,
         auditHealth: AuditHealth? = nil) {
        self.database = database
        self.databasePaths = databasePaths
        self.spoolDirectories = spoolDirectories
        self.ca = ca
        self.tsas = tsas
        self.powerAuth = powerAuth
        self.auditHealth = auditHealth
    }

    /// Human-readable problems; empty when ready.
    func problems() async -> [String] {
        // Not cached: it is a lock read, and a recovered audit trail should show at once.
        let audit = auditHealth?.problem.map { [$0] } ?? []
        if let cached, Date().timeIntervalSince(cached.at) < 5 { return audit + cached.problems }
        var problems: [String] = []
        if (try? database.jobCounts()) == nil { problems.append("state database not readable: check the data directory (--data-dir) and the signd log") }
        for path in databasePaths where access(path, W_OK) != 0 {
            problems.append("\((path as NSString).lastPathComponent) not writable: give the signd user write access to it (and its directory)")
        }
        for dir in spoolDirectories where access(dir, W_OK) != 0 {
            problems.append("spool directory \(dir) not writable: give the signd user write access to it")
        }
        if let ca, !(await Self.reachable(ca.url)) {
            problems.append("CA \(Self.redacted(ca.url)) unreachable: check ca.ejbca.baseURL and the network; enrollments and renewals are retried meanwhile")
        }
        if !tsas.isEmpty {
            var any = false
            for tsa in tsas where await Self.reachable(tsa.url) {
                any = true
                break
            }
            if !any { problems.append("no TSA reachable (\(tsas.map { Self.redacted($0.url) }.joined(separator: ", "))): check tsa.urls and the network; B-T jobs are retried meanwhile") }
        }
        if let powerAuth, !(await Self.reachable(powerAuth.url)) {
            problems.append("PowerAuth \(Self.redacted(powerAuth.url)) unreachable: check sca.powerauth.url (or SIGND_POWERAUTH_URL) and the network; powerauth-operation jobs are retried meanwhile")
        }
        cached = (Date(), problems)
        return audit + problems
    }

    /// scheme://host:port only: URLs may carry credentials or tokens in their path or query.
    static func redacted(_ url: String) -> String {
        guard let c = URLComponents(string: url), let host = c.host else { return "(invalid URL)" }
        return "\(c.scheme ?? "http")://\(host)\(c.port.map { ":\($0)" } ?? "")"
    }

    /// True when the URL's host accepts a TCP connection within `timeout` seconds.
    static func reachable(_ url: String, timeout: Double = 2) async -> Bool {
        guard let c = URLComponents(string: url), let host = c.host else { return false }
        let port = c.port ?? (c.scheme == "https" ? 443 : 80)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: tcpConnect(host: host, port: port, timeout: timeout))
            }
        }
    }

    static func tcpConnect(host: String, port: Int, timeout: Double) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(first) }
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let ai = info {
            defer { info = ai.pointee.ai_next }
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return true }
            guard errno == EINPROGRESS else { continue }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { continue }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 { return true }
        }
        return false
    }
}
