use super::*;

#[test]
fn names_from_arns_and_qualifiers() {
    assert_eq!(
        function_name("LambdaFunctionOverHttps"),
        "LambdaFunctionOverHttps"
    );
    assert_eq!(
        function_name("arn:aws:lambda:us-east-1:123456789012:function:f"),
        "f"
    );
    assert_eq!(
        function_name("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%3A%24LATEST"),
        "f"
    );
    assert_eq!(function_name("f:prod"), "f");
}

#[test]
fn qualifiers_from_the_query_or_the_name() {
    assert_eq!(
        qualifier("f", Some("Qualifier=lab-tune-512")).as_deref(),
        Some("lab-tune-512")
    );
    assert_eq!(
        qualifier("f", Some("a=b&Qualifier=3")).as_deref(),
        Some("3")
    );
    assert_eq!(qualifier("f:prod", None).as_deref(), Some("prod"));
    assert_eq!(
        qualifier(
            "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%3A7",
            None
        )
        .as_deref(),
        Some("7")
    );
    // $LATEST, spelled out or encoded, is no qualifier at all.
    assert_eq!(qualifier("f", Some("Qualifier=%24LATEST")), None);
    assert_eq!(qualifier("f:$LATEST", None), None);
    assert_eq!(qualifier("f", None), None);
    assert_eq!(
        qualifier("arn:aws:lambda:us-east-1:1:function:f", Some("x=y")),
        None
    );
}

/// A zip with an executable `bootstrap` and some padding, base64, as CreateFunction carries it.
fn zip_b64() -> String {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(b"#!/bin/sh\n").unwrap();
    zip.start_file("padding", options).unwrap();
    zip.write_all(&vec![7u8; 4 << 20]).unwrap();
    zip.finish().unwrap();
    base64::engine::general_purpose::STANDARD.encode(out.into_inner())
}

/// The code is decoded and unzipped on a blocking thread: while it is, another future on the
/// same (single) async worker runs. Unzipped in place, it would be done before the other ran.
#[tokio::test(flavor = "current_thread")]
async fn code_is_unpacked_off_the_async_thread() {
    let root = std::env::temp_dir().join(format!("lab-store-code-{}", std::process::id()));
    let registry = Registry::new(root.clone());
    let doc = Arc::new(serde_json::json!({"Code": {"ZipFile": zip_b64()}}));
    let key = ("us-east-1".to_string(), "f".to_string());
    let order = Mutex::new(Vec::new());
    tokio::join!(
        async {
            let stored = registry.store_code(key.clone(), doc, "/Code/ZipFile").await;
            stored.expect("stored");
            order.lock().unwrap().push("unpacked");
        },
        async { order.lock().unwrap().push("other task ran") },
    );
    assert_eq!(*order.lock().unwrap(), ["other task ran", "unpacked"]);
    let dir = registry.code_dir(&key).expect("kept");
    let mode = std::fs::metadata(dir.join("bootstrap")).unwrap().permissions().mode();
    assert_eq!(mode & 0o755, 0o755);
    let missing = Arc::new(serde_json::json!({}));
    let err = registry.store_code(key, missing, "/ZipFile").await.unwrap_err();
    assert!(format!("{err:#}").contains("no /ZipFile"), "{err:#}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_build_with_overflow_checks_is_unoptimised_and_one_without_is_not() {
    let dir = std::env::temp_dir().join(format!("lab-unopt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let debug = dir.join("debug");
    std::fs::write(&debug, b"\x7fELF...attempt to add with overflow...").unwrap();
    let release = dir.join("release");
    std::fs::write(&release, b"\x7fELF...attempt to divide by zero...").unwrap();
    assert!(super::unoptimised_rust(&debug));
    assert!(!super::unoptimised_rust(&release));
    assert!(!super::unoptimised_rust(&dir.join("missing")));
    let _ = std::fs::remove_dir_all(dir);
}
