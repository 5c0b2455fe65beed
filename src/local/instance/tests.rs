#[test]
fn date_has_lambda_stream_shape() {
    let d = super::utc_date();
    assert_eq!(d.len(), 10);
    assert!(d.starts_with("20"));
    assert_eq!(&d[4..5], "/");
}
