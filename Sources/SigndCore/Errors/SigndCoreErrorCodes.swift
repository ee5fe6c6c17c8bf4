/// SigndCore's documented codes (``KeyFileError``, ``FileWriteError``, ``SecretError``).
public enum SigndCoreErrorCodes {
    public static let all: [ErrorCodeInfo] = [
        ErrorCodeInfo(KeyFileError.Code.read.rawValue, .signing, meaning: "file cannot be read or written"),
        ErrorCodeInfo(FileWriteError.Code.write.rawValue, .signing, meaning: "file cannot be read or written"),
        ErrorCodeInfo(SecretError.Code.kekInvalid.rawValue, .secrets, meaning: "KEK is not 32 bytes / base64 of 32 bytes"),
        ErrorCodeInfo(SecretError.Code.kekMissing.rawValue, .secrets, meaning: "no KEK configured / KEK file unreadable"),
        ErrorCodeInfo(SecretError.Code.kekUnreadable.rawValue, .secrets, meaning: "no KEK configured / KEK file unreadable"),
        ErrorCodeInfo(SecretError.Code.kekWrongKey.rawValue, .secrets, meaning: "a secret was encrypted under another KEK (ids differ)"),
        ErrorCodeInfo(SecretError.Code.kekDecryptFailed.rawValue, .secrets, meaning: "a stored secret failed authentication (altered)"),
        ErrorCodeInfo(SecretError.Code.secretUnreadable.rawValue, .secrets, meaning: "a sealed secret file in the data directory (e.g. a cloud key) cannot be read; check the data directory and its permissions"),
    ]
}
