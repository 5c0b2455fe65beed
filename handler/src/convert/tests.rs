//! JSON to attribute values and back: exact numbers, tagged sets and bytes, errors that name the path.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

fn round_trip(value: &Value) -> Value {
    from_attr(to_attr(value.clone(), &Path::root("v")).expect("converts"))
}

#[test]
fn scalars() {
    let p = Path::root("v");
    assert_eq!(
        to_attr(json!("x"), &p).unwrap(),
        AttributeValue::S("x".into())
    );
    assert_eq!(
        to_attr(json!(true), &p).unwrap(),
        AttributeValue::Bool(true)
    );
    assert_eq!(
        to_attr(json!(null), &p).unwrap(),
        AttributeValue::Null(true)
    );
    assert_eq!(
        to_attr(json!(5), &p).unwrap(),
        AttributeValue::N("5".into())
    );
}

#[test]
fn numbers_keep_their_text() {
    for text in [
        "5",
        "-0",
        "12345678901234567890.5",
        "123456789012345678901234567890123456789",
        "0.000000000000000000000000000001",
        "1.50",
        "1e+400",
        "-2.5e-7",
    ] {
        let attr = to_attr(parse(text), &Path::root("v")).unwrap();
        assert_eq!(attr, AttributeValue::N(text.into()));
        let back = serde_json::to_string(&from_attr(attr)).unwrap();
        assert_eq!(back, text);
    }
}

#[test]
fn exponents_are_spelt_the_serde_json_way() {
    // serde_json canonicalises only the exponent marker (`E5` -> `e+5`); digits are never touched.
    let attr = to_attr(parse("1.50E5"), &Path::root("v")).unwrap();
    assert_eq!(attr, AttributeValue::N("1.50e+5".into()));
}

#[test]
fn integers_stay_integers() {
    let back = from_attr(AttributeValue::N("5".into()));
    assert!(back.as_u64() == Some(5), "got {back}");
    assert_eq!(serde_json::to_string(&back).unwrap(), "5");
}

#[test]
fn odd_numbers_from_an_emulator_are_repaired() {
    let cases = [
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-.25", "-0.25"),
        ("007", "7"),
        ("5.E3", "5e+3"),
    ];
    for (input, want) in cases {
        let got = serde_json::to_string(&from_attr(AttributeValue::N(input.into()))).unwrap();
        assert_eq!(got, want, "for {input}");
    }
    assert_eq!(
        from_attr(AttributeValue::N("NaN".into())),
        json!("NaN"),
        "unparseable text is kept as a string"
    );
}

#[test]
fn nested_maps_and_lists() {
    let v = json!({"a": [1, "two", {"three": [null, false]}], "b": {}});
    let attr = to_attr(v.clone(), &Path::root("v")).unwrap();
    let AttributeValue::M(m) = &attr else {
        panic!("not a map: {attr:?}")
    };
    assert!(matches!(m.get("a"), Some(AttributeValue::L(l)) if l.len() == 3));
    assert_eq!(from_attr(attr), v);
}

#[test]
fn tagged_forms() {
    let p = Path::root("v");
    assert_eq!(
        to_attr(json!({"$ss": ["a", "b"]}), &p).unwrap(),
        AttributeValue::Ss(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        to_attr(parse(r#"{"$ns": [1, 2.50]}"#), &p).unwrap(),
        AttributeValue::Ns(vec!["1".into(), "2.50".into()])
    );
    assert_eq!(
        to_attr(json!({"$b": "AAH/"}), &p).unwrap(),
        AttributeValue::B(Blob::new(vec![0, 1, 255]))
    );
    assert_eq!(
        to_attr(json!({"$bs": ["AA==", "AQI="]}), &p).unwrap(),
        AttributeValue::Bs(vec![Blob::new(vec![0]), Blob::new(vec![1, 2])])
    );
    // Two keys, or a tag plus another key: a plain map.
    assert!(matches!(
        to_attr(json!({"$ss": ["a"], "x": 1}), &p).unwrap(),
        AttributeValue::M(_)
    ));
    assert!(matches!(
        to_attr(json!({"$other": 1}), &p).unwrap(),
        AttributeValue::M(_)
    ));
    for v in [
        json!({"$ss": ["a"]}),
        json!({"$ns": [1, 2]}),
        json!({"$bs": ["AA=="]}),
        json!({"$b": ""}),
    ] {
        assert_eq!(round_trip(&v), v);
    }
}

#[test]
fn bad_tagged_forms_name_the_path() {
    let root = Path::root("payload");
    let item = root.key("Item");
    let cases = [
        (
            json!({"t": {"$ss": []}}),
            "payload.Item.t.$ss must be a non-empty array of strings, got an empty array",
        ),
        (
            json!({"t": {"$ss": "a"}}),
            "payload.Item.t.$ss must be a non-empty array of strings, got string",
        ),
        (
            json!({"t": {"$ss": ["a", 1]}}),
            "payload.Item.t.$ss[1] must be one of strings, got number",
        ),
        (
            json!({"t": {"$ns": ["1"]}}),
            "payload.Item.t.$ns[0] must be one of numbers, got string",
        ),
        (
            json!({"t": [{"$b": 5}]}),
            "payload.Item.t[0].$b must be a base64 string, got number",
        ),
        (
            json!({"t": {"$bs": ["!!"]}}),
            "payload.Item.t.$bs[0] is not valid base64",
        ),
        (
            json!({"odd key": {"$b": "%"}}),
            "payload.Item[\"odd key\"].$b is not valid base64",
        ),
    ];
    for (value, want) in cases {
        let err = to_item(value.clone(), &item).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::BadRequest);
        assert!(
            err.message.starts_with(want),
            "for {value}: {}",
            err.message
        );
    }
    let err = to_item(json!([1]), &item).unwrap_err();
    assert_eq!(err.message, "payload.Item must be an object, got array");
}

/// Decimal text in the forms JSON allows, including values far beyond f64 and u64.
fn decimal_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        "(0|[1-9][0-9]{0,37})",
        proptest::option::of("[0-9]{1,20}"),
        proptest::option::of(-130i32..126),
    )
        .prop_map(|(neg, int, frac, exp)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some(e) = exp {
                // serde_json spells exponents `e+N` / `e-N` whatever the input said; generate that
                // form so the text comparison below is meaningful.
                s.push_str(&format!("e{e:+}"));
            }
            s
        })
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        decimal_text().prop_map(|t| Value::Number(Number::from_str(&t).expect("valid number"))),
    ]
}

fn b64() -> impl Strategy<Value = Value> {
    proptest::collection::vec(any::<u8>(), 0..24).prop_map(|b| Value::String(BASE64.encode(b)))
}

fn tagged_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::collection::vec(any::<String>().prop_map(Value::String), 1..4)
            .prop_map(|v| tagged(TAG_SS, v)),
        proptest::collection::vec(number(), 1..4).prop_map(|v| tagged(TAG_NS, v)),
        proptest::collection::vec(b64(), 1..4).prop_map(|v| tagged(TAG_BS, v)),
        b64().prop_map(|s| {
            let mut m = Map::new();
            m.insert(TAG_B.to_owned(), s);
            Value::Object(m)
        }),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<String>().prop_map(Value::String),
        number(),
        tagged_value(),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            // Keys never start with '$', so a one-key map is never mistaken for a tagged value.
            proptest::collection::btree_map("[a-zA-Z0-9_ .-]{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_attr_json_round_trip(value in json_value()) {
        let back = round_trip(&value);
        // Compare the text, not just Value equality: "exact" means byte-for-byte numbers.
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn decimal_text_survives(text in decimal_text()) {
        let value = parse(&text);
        let attr = to_attr(value, &Path::root("v")).unwrap();
        prop_assert_eq!(&attr, &AttributeValue::N(text.clone()));
        prop_assert_eq!(serde_json::to_string(&from_attr(attr)).unwrap(), text);
    }

    #[test]
    fn conversion_never_panics(
        value in json_value(),
        key in prop_oneof![Just("$ss".to_owned()), Just("$ns".to_owned()), Just("$bs".to_owned()), Just("$b".to_owned()), "\\PC{0,3}"],
    ) {
        // Wrap arbitrary values under arbitrary keys, including '$'-tags with wrong shapes.
        let mut m = Map::new();
        m.insert(key, value);
        let _ = to_attr(Value::Object(m), &Path::root("v"));
    }
}
