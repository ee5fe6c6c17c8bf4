// Fixed vectors generated once with OpenSSL 3.0 (see the comment on each vector).
// Test PKI: P-256 "Test CA", "Test Signer" (serial 0x0102030405), "Test TSA" (serial 0xF1,
// EKU timeStamping); data.txt = "hello signd\n".

enum Vectors {
    /// openssl cms -sign -binary -in data.txt -signer signer.pem -inkey signer.key -outform DER -nosmimecap -noattr -md sha256 (P-256 signer, issuerAndSerialNumber, detached)
    static let cmsDetachedNoAttrs = bytes(
        """
        MIICagYJKoZIhvcNAQcCoIICWzCCAlcCAQExDTALBglghkgBZQMEAgEwCwYJKoZIhvcNAQcBoIIBnTCCAZkwggE+oAMCAQICBQEC
        AwQFMAoGCCqGSM49BAMCMCIxEDAOBgNVBAMMB1Rlc3QgQ0ExDjAMBgNVBAoMBXNpZ25kMB4XDTI2MTEyOTEzMTQyMloXDTM2MTEy
        NjEzMTQyMlowJjEUMBIGA1UEAwwLVGVzdCBTaWduZXIxDjAMBgNVBAoMBXNpZ25kMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
        lVE/5Hw62DzmSegobZlprIsCB/0ucEPPMefodkMrBOUeuTWK08JEj1M5LOo1W3c9xj6q5ZruhHf7ZKUmLtE8yKNdMFswCQYDVR0T
        BAIwADAOBgNVHQ8BAf8EBAMCBsAwHQYDVR0OBBYEFE8ptwgI6/tyI7ufkQwheL8RJ0qiMB8GA1UdIwQYMBaAFGufD2Cpc7Kv0h/6
        rSUDqxV4n3MGMAoGCCqGSM49BAMCA0kAMEYCIQCOFOZhgPcY4Zv+BtFrN0XL1wlunUBRrWAOosKpr5fdMAIhAJMpcZO5pxKV7xZT
        BuXofzbvFRY6wPKN9zopESx4+LD4MYGUMIGRAgEBMCswIjEQMA4GA1UEAwwHVGVzdCBDQTEOMAwGA1UECgwFc2lnbmQCBQECAwQF
        MAsGCWCGSAFlAwQCATAKBggqhkjOPQQDAgRGMEQCICWJRzBl0ZT1jejJppjyR0xuUZ0hb9Q3RfKG+IGRho/TAiAsQLpK8N6z6m3x
        gmWlcyEUFGSMK4Ts+aLlNe+c5Ocvkg==
        """
    )

    /// openssl cms -sign -binary -in data.txt -signer signer.pem -inkey signer.key -outform DER -nosmimecap -md sha256 (signedAttrs: contentType, signingTime, messageDigest)
    static let cmsDetachedWithAttrs = bytes(
        """
        MIIC1wYJKoZIhvcNAQcCoIICyDCCAsQCAQExDTALBglghkgBZQMEAgEwCwYJKoZIhvcNAQcBoIIBnTCCAZkwggE+oAMCAQICBQEC
        AwQFMAoGCCqGSM49BAMCMCIxEDAOBgNVBAMMB1Rlc3QgQ0ExDjAMBgNVBAoMBXNpZ25kMB4XDTI2MTEyOTEzMTQyMloXDTM2MTEy
        NjEzMTQyMlowJjEUMBIGA1UEAwwLVGVzdCBTaWduZXIxDjAMBgNVBAoMBXNpZ25kMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
        lVE/5Hw62DzmSegobZlprIsCB/0ucEPPMefodkMrBOUeuTWK08JEj1M5LOo1W3c9xj6q5ZruhHf7ZKUmLtE8yKNdMFswCQYDVR0T
        BAIwADAOBgNVHQ8BAf8EBAMCBsAwHQYDVR0OBBYEFE8ptwgI6/tyI7ufkQwheL8RJ0qiMB8GA1UdIwQYMBaAFGufD2Cpc7Kv0h/6
        rSUDqxV4n3MGMAoGCCqGSM49BAMCA0kAMEYCIQCOFOZhgPcY4Zv+BtFrN0XL1wlunUBRrWAOosKpr5fdMAIhAJMpcZO5pxKV7xZT
        BuXofzbvFRY6wPKN9zopESx4+LD4MYIBADCB/QIBATArMCIxEDAOBgNVBAMMB1Rlc3QgQ0ExDjAMBgNVBAoMBXNpZ25kAgUBAgME
        BTALBglghkgBZQMEAgGgaTAYBgkqhkiG9w0BCQMxCwYJKoZIhvcNAQcBMBwGCSqGSIb3DQEJBTEPFw0yNjExMjkxMzE0MjdaMC8G
        CSqGSIb3DQEJBDEiBCAc1VGH3Zg8G+PlGeT8M5ztJbW0eX6VpBFrF3uxF/AWvzAKBggqhkjOPQQDAgRHMEUCIDxOu89mPrcxa0nd
        j8eh+waKeGXTjCmya32DamofOUEuAiEAuATfRZH+jdYS69jwiVOMRBSUpy0E7QTAO0tY87HqcsE=
        """
    )

    /// openssl cms -sign ... -keyid -certfile ca.pem (SignerInfo v3 / SignedData v3, two certificates)
    static let cmsSubjectKeyIdentifier = bytes(
        """
        MIIEbAYJKoZIhvcNAQcCoIIEXTCCBFkCAQMxDTALBglghkgBZQMEAgEwCwYJKoZIhvcNAQcBoIIDSjCCAZkwggE+oAMCAQICBQEC
        AwQFMAoGCCqGSM49BAMCMCIxEDAOBgNVBAMMB1Rlc3QgQ0ExDjAMBgNVBAoMBXNpZ25kMB4XDTI2MTEyOTEzMTQyMloXDTM2MTEy
        NjEzMTQyMlowJjEUMBIGA1UEAwwLVGVzdCBTaWduZXIxDjAMBgNVBAoMBXNpZ25kMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
        lVE/5Hw62DzmSegobZlprIsCB/0ucEPPMefodkMrBOUeuTWK08JEj1M5LOo1W3c9xj6q5ZruhHf7ZKUmLtE8yKNdMFswCQYDVR0T
        BAIwADAOBgNVHQ8BAf8EBAMCBsAwHQYDVR0OBBYEFE8ptwgI6/tyI7ufkQwheL8RJ0qiMB8GA1UdIwQYMBaAFGufD2Cpc7Kv0h/6
        rSUDqxV4n3MGMAoGCCqGSM49BAMCA0kAMEYCIQCOFOZhgPcY4Zv+BtFrN0XL1wlunUBRrWAOosKpr5fdMAIhAJMpcZO5pxKV7xZT
        BuXofzbvFRY6wPKN9zopESx4+LD4MIIBqTCCAU+gAwIBAgIUJdR/zqtz8vMxriiEwRHLHOFHxGkwCgYIKoZIzj0EAwIwIjEQMA4G
        A1UEAwwHVGVzdCBDQTEOMAwGA1UECgwFc2lnbmQwHhcNMjYxMTI5MTMxNDIyWhcNMzYxMTI2MTMxNDIyWjAiMRAwDgYDVQQDDAdU
        ZXN0IENBMQ4wDAYDVQQKDAVzaWduZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJO+SxQY/FqTSjL27xTbbOyZ/IRDii1CGhsv
        Tkdb2rIVgbemcxd5bh3BuJWWliwRbNP4bID7dvT7RyGAHrJ2goGjYzBhMB0GA1UdDgQWBBRrnw9gqXOyr9If+q0lA6sVeJ9zBjAf
        BgNVHSMEGDAWgBRrnw9gqXOyr9If+q0lA6sVeJ9zBjAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQD
        AgNIADBFAiAdrPdL78/Rf7MbhyXiyN+tsJ1UJoUP0ITTCE+uam75AwIhAK3Nsl2ZV++vOlFa9r19GaQ4y8E1b6PXAQ9Mmazwzglu
        MYHpMIHmAgEDgBRPKbcICOv7ciO7n5EMIXi/ESdKojALBglghkgBZQMEAgGgaTAYBgkqhkiG9w0BCQMxCwYJKoZIhvcNAQcBMBwG
        CSqGSIb3DQEJBTEPFw0yNjExMjkxMzE0MjdaMC8GCSqGSIb3DQEJBDEiBCAc1VGH3Zg8G+PlGeT8M5ztJbW0eX6VpBFrF3uxF/AW
        vzAKBggqhkjOPQQDAgRHMEUCIH65enHsUy7RSaTEWJoP52WyOAyUZ/9gzuD9PBeuTSauAiEA5z2Ap+gu3HYShFfijiQFXnDSKNx6
        suH+dbj7abExS3c=
        """
    )

    /// openssl cms -sign ... -noattr -nocerts -keyopt rsa_padding_mode:pss (RSA-1024 self-signed, RSASSA-PSS SHA-256)
    static let cmsRSASSAPSS = bytes(
        """
        MIIBNwYJKoZIhvcNAQcCoIIBKDCCASQCAQExDTALBglghkgBZQMEAgEwCwYJKoZIhvcNAQcBMYIBATCB/gIBATAmMA4xDDAKBgNV
        BAMMA1JTQQIUIkp2RAJTzbn9yT1WShG2UvPs4zAwCwYJYIZIAWUDBAIBMEEGCSqGSIb3DQEBCjA0oA8wDQYJYIZIAWUDBAIBBQCh
        HDAaBgkqhkiG9w0BAQgwDQYJYIZIAWUDBAIBBQCiAwIBXgSBgHNKsyRWVCkQ+Go5nHgbsIhFNPqD13RNuLSGSZmyGwu6mVYREX8I
        D1KhpQnsnafL6/CMZ8OE+2JxaDL7zm+BMbwZG1/MQnGU5T+9kIlgj+iTWyN6ji5EZgKkHY3LdERw56Z5HQReO0RwFFuRW3LqkOUb
        cKm5tVaQPvk23yEFRW9s
        """
    )

    /// openssl ts -query -sha256 -cert -data data.txt (nonce 0xFC7A0F69D3FAC02D, certReq TRUE)
    static let timeStampRequest = bytes(
        """
        MEQCAQEwMTANBglghkgBZQMEAgEFAAQgHNVRh92YPBvj5Rnk/DOc7SW1tHl+laQRaxd7sRfwFr8CCQD8eg9p0/rALQEB/w==
        """
    )

    /// openssl ts -query -sha384 -no_nonce -data data.txt
    static let timeStampRequestNoNonce = bytes(
        """
        MEYCAQEwQTANBglghkgBZQMEAgIFAAQwaZoDVB4yQt6SeJLT1FKjAnPtokneWbCNF9eUG8y68yTaBmQ/GQQ7BtML56GF2bJr
        """
    )

    /// openssl ts -reply for timeStampRequest (signingCertificateV2, accuracy 1s 500ms 100us, ordering, tsa name, unsorted PKCS#7 certificate SET)
    static let timeStampResponseGranted = bytes(
        """
        MIIFhjADAgEAMIIFfQYJKoZIhvcNAQcCoIIFbjCCBWoCAQMxDzANBglghkgBZQMEAgEFADCBtQYLKoZIhvcNAQkQAQSggaUEgaIw
        gZ8CAQEGBCoDBAEwMTANBglghkgBZQMEAgEFAAQgHNVRh92YPBvj5Rnk/DOc7SW1tHl+laQRaxd7sRfwFr8CCRI0VniQq83vAhgT
        MjAyNjExMjkxMzE0MzEuMTExWjAKAgEBgAIB9IEBZAEB/wIJAPx6D2nT+sAtoCekJTAjMREwDwYDVQQDDAhUZXN0IFRTQTEOMAwG
        A1UECgwFc2lnbmSgggNbMIIBqjCCAVCgAwIBAgICAPEwCgYIKoZIzj0EAwIwIjEQMA4GA1UEAwwHVGVzdCBDQTEOMAwGA1UECgwF
        c2lnbmQwHhcNMjYxMTI5MTMxNDIyWhcNMzYxMTI2MTMxNDIyWjAjMREwDwYDVQQDDAhUZXN0IFRTQTEOMAwGA1UECgwFc2lnbmQw
        WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQRMSLE0QyaUzCqySloeHb3mphXv8D3U5ER4AYJ6N2QrSCWMbGxNU79dk6CokRXEUOE
        BWmju4atbv/6OCbCsJvGo3UwczAJBgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIHgDAWBgNVHSUBAf8EDDAKBggrBgEFBQcDCDAdBgNV
        HQ4EFgQUSZ8xp0/BlPRBWzBMiPnNTYltSlwwHwYDVR0jBBgwFoAUa58PYKlzsq/SH/qtJQOrFXifcwYwCgYIKoZIzj0EAwIDSAAw
        RQIgaX5ZiJEL4HanEMeZHb2iV7mJeDmBbHK3gippGRvh/8QCIQCCUuR2py79aPsWy6ABBk9vIRllUnJemlYHV8irEAe9bDCCAakw
        ggFPoAMCAQICFCXUf86rc/LzMa4ohMERyxzhR8RpMAoGCCqGSM49BAMCMCIxEDAOBgNVBAMMB1Rlc3QgQ0ExDjAMBgNVBAoMBXNp
        Z25kMB4XDTI2MTEyOTEzMTQyMloXDTM2MTEyNjEzMTQyMlowIjEQMA4GA1UEAwwHVGVzdCBDQTEOMAwGA1UECgwFc2lnbmQwWTAT
        BgcqhkjOPQIBBggqhkjOPQMBBwNCAASTvksUGPxak0oy9u8U22zsmfyEQ4otQhobL05HW9qyFYG3pnMXeW4dwbiVlpYsEWzT+GyA
        +3b0+0chgB6ydoKBo2MwYTAdBgNVHQ4EFgQUa58PYKlzsq/SH/qtJQOrFXifcwYwHwYDVR0jBBgwFoAUa58PYKlzsq/SH/qtJQOr
        FXifcwYwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQwCgYIKoZIzj0EAwIDSAAwRQIgHaz3S+/P0X+zG4cl4sjfrbCd
        VCaFD9CE0whPrmpu+QMCIQCtzbJdmVfvrzpRWva9fRmkOMvBNW+j1wEPTJms8M4JbjGCATswggE3AgEBMCgwIjEQMA4GA1UEAwwH
        VGVzdCBDQTEOMAwGA1UECgwFc2lnbmQCAgDxMA0GCWCGSAFlAwQCAQUAoIGkMBoGCSqGSIb3DQEJAzENBgsqhkiG9w0BCRABBDAc
        BgkqhkiG9w0BCQUxDxcNMjYxMTI5MTMxNDMxWjAvBgkqhkiG9w0BCQQxIgQgET4LN6BoIAEgYufJnHn3Cuy/dquTUKjrA113/fnc
        NSYwNwYLKoZIhvcNAQkQAi8xKDAmMCQwIgQgmHc3wBafO1Nh1/w6nHQkgyJpWipt4FdH2ApDuu1LfVswCgYIKoZIzj0EAwIERjBE
        AiB6mVsKCzD+rTTU9a+rNkyBkgqCSddJ0C82cVil83pinQIgHK2pNAs/YUsAoc066frqN1XEHJDN3p6L14zqN/0vSj0=
        """
    )

    /// openssl ts -reply for timeStampRequestNoNonce (ess_cert_id_alg sha1 -> signingCertificate v1, no certs)
    static let timeStampResponseV1 = bytes(
        """
        MIIB6DADAgEAMIIB3wYJKoZIhvcNAQcCoIIB0DCCAcwCAQMxDzANBglghkgBZQMEAgEFADCBgAYLKoZIhvcNAQkQAQSgcQRvMG0C
        AQEGBCoDBAEwQTANBglghkgBZQMEAgIFAAQwaZoDVB4yQt6SeJLT1FKjAnPtokneWbCNF9eUG8y68yTaBmQ/GQQ7BtML56GF2bJr
        AgkSNFZ4kKvN7wMYDzIwMjYxMTI5MTMxNDMxWjADAgECMYIBMTCCAS0CAQEwKDAiMRAwDgYDVQQDDAdUZXN0IENBMQ4wDAYDVQQK
        DAVzaWduZAICAPEwDQYJYIZIAWUDBAIBBQCggZgwGgYJKoZIhvcNAQkDMQ0GCyqGSIb3DQEJEAEEMBwGCSqGSIb3DQEJBTEPFw0y
        NjExMjkxMzE0MzFaMCsGCyqGSIb3DQEJEAIMMRwwGjAYMBYEFO2W9LLppfOfHAc5bMXUZZwaP+b7MC8GCSqGSIb3DQEJBDEiBCC8
        0dhBfFypqTqaJkRbwxaDFwvFSNXuDvHYMLfWGvdqDDAKBggqhkjOPQQDAgRIMEYCIQDLwLzk2czTOH8E0nZLgu2MsjGeRKKtisvr
        XCY2SDoETgIhALzDDHze1aQa3THGrmn2zlkj7W+7AlnnIpRjm3nQXS5P
        """
    )

    /// openssl ts -reply failure (rejection, statusString, failInfo addInfoNotAvailable)
    static let timeStampResponseRejected = bytes(
        """
        MDUwMwIBAjAoDCZFcnJvciBkdXJpbmcgc2VyaWFsIG51bWJlciBnZW5lcmF0aW9uLgMEBgAAQA==
        """
    )

}
