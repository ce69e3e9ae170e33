use super::*;
use std::process::Command;

/// A fresh directory with a CA and a client certificate it signed, made by the openssl CLI.
fn pki(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmm-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(&dir).output().expect("the openssl CLI");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
        "-subj",
        "/CN=alice",
    ]);
    // With extensions: webpki refuses the version 1 certificate `x509 -req` makes without.
    std::fs::write(dir.join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "client.crt",
        "-days",
        "2",
        "-extfile",
        "client.ext",
    ]);
    dir
}

#[test]
fn a_ca_file_and_a_client_certificate_make_a_configuration() {
    let dir = pki("ok");
    let files = TlsFiles::new()
        .with_ca_file(dir.join("ca.crt"))
        .with_client_cert(dir.join("client.crt"), dir.join("client.key"));
    let config = client_config(&files).expect("a configuration");
    assert!(config.client_auth_cert_resolver.has_certs());
    assert!(check_files(&TlsFiles::new().with_ca_file(dir.join("ca.crt"))).is_ok());
}

#[test]
fn a_missing_file_is_named_in_the_error() {
    let missing = PathBuf::from("/nonexistent/vmm/ca.crt");
    let e = client_config(&TlsFiles::new().with_ca_file(&missing)).unwrap_err();
    assert!(matches!(&e, TlsError::Read { path, .. } if *path == missing), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/vmm/ca.crt"), "{e}");
}

#[test]
fn a_file_without_certificates_or_key_is_refused_with_its_name() {
    let dir = pki("bad");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let e = client_config(&TlsFiles::new().with_ca_file(&garbage)).unwrap_err();
    assert!(matches!(&e, TlsError::Parse { path, .. } if *path == garbage), "{e:?}");
    assert!(e.to_string().contains("garbage.pem") && e.to_string().contains("no PEM certificate"), "{e}");

    // The certificate where the key should be: no private key in it.
    let files = TlsFiles::new()
        .with_ca_file(dir.join("ca.crt"))
        .with_client_cert(dir.join("client.crt"), dir.join("client.crt"));
    let e = client_config(&files).unwrap_err();
    assert!(e.to_string().contains("client.crt") && e.to_string().contains("no PEM private key"), "{e}");
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = pki("mismatch");
    // The CA's key with the client's certificate.
    let files =
        TlsFiles::new().with_ca_file(dir.join("ca.crt")).with_client_cert(dir.join("client.crt"), dir.join("ca.key"));
    let e = client_config(&files).unwrap_err();
    assert!(matches!(e, TlsError::ClientCert { .. }), "{e:?}");
}
