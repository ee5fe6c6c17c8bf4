import ArgumentParser

@main
struct Signd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signd",
        abstract: "PAdES signing daemon and tools for PDF documents.",
        subcommands: [InitCommand.self, SignCommand.self, VerifyCommand.self, TSACommand.self, CACommand.self, EnrollCommand.self,
                      CertificatesCommand.self, RenewCommand.self, RunCommand.self, SubmitCommand.self, AuditCommand.self, KeysCommand.self, DeviceCommand.self, DeviceSimCommand.self, AuthorizeCommand.self, RetentionCommand.self, ErrorsCommand.self])
}
