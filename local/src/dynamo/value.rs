//! DynamoDB's attribute values (`{"S": "x"}`, `{"N": "5"}`, sets, lists, maps) as the store holds
//! them, read from and written to the JSON protocol, with DynamoDB's number rules: decimals of up
//! to 38 significant digits between 1E-130 and 1E+126, compared and added exactly (`bigdecimal`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::str::FromStr;

use base64::Engine;
use bigdecimal::BigDecimal;
use serde_json::{Map, Value};

use super::error::DdbError;

/// An item: attribute name to value.
pub(crate) type Item = BTreeMap<String, Attr>;

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attr {
    S(String),
    N(BigDecimal),
    B(Vec<u8>),
    Ss(Vec<String>),
    Ns(Vec<BigDecimal>),
    Bs(Vec<Vec<u8>>),
    L(Vec<Attr>),
    M(Item),
    Bool(bool),
    Null,
}

/// The largest item DynamoDB stores (400 KB).
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, DdbError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| DdbError::validation("Invalid Base64 value provided for a binary attribute"))
}

/// A number as DynamoDB accepts it, or DynamoDB's refusal.
pub(crate) fn number(text: &str) -> Result<BigDecimal, DdbError> {
    let trimmed = text.trim();
    let n = BigDecimal::from_str(trimmed)
        .map_err(|_| DdbError::validation("A value provided cannot be converted into a number"))?;
    check_number(n)
}

/// DynamoDB's range and precision for a number (also applied to the result of `+`, `-` and ADD).
pub(crate) fn check_number(n: BigDecimal) -> Result<BigDecimal, DdbError> {
    let n = n.normalized();
    if bigdecimal::Zero::is_zero(&n) {
        return Ok(BigDecimal::from(0));
    }
    let (mantissa, scale) = n.as_bigint_and_exponent();
    let digits = mantissa.magnitude().to_string().len() as i64;
    if digits > 38 {
        return Err(DdbError::validation(
            "Attempting to store more than 38 significant digits in a Number",
        ));
    }
    // The value is mantissa × 10^-scale; its decimal exponent (of the leading digit) is this.
    let exponent = digits - 1 - scale;
    if exponent >= 126 {
        return Err(DdbError::validation(
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ));
    }
    if exponent < -130 {
        return Err(DdbError::validation(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range",
        ));
    }
    Ok(n)
}

/// A number as DynamoDB writes it: plain decimal, no trailing zeros.
pub(crate) fn number_text(n: &BigDecimal) -> String {
    n.normalized().to_plain_string()
}

impl Attr {
    /// DynamoDB's name of the value's type (`S`, `NS`, `BOOL`...).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Attr::S(_) => "S",
            Attr::N(_) => "N",
            Attr::B(_) => "B",
            Attr::Ss(_) => "SS",
            Attr::Ns(_) => "NS",
            Attr::Bs(_) => "BS",
            Attr::L(_) => "L",
            Attr::M(_) => "M",
            Attr::Bool(_) => "BOOL",
            Attr::Null => "NULL",
        }
    }

    /// Reads one `{"T": value}` document.
    pub(crate) fn from_json(doc: &Value) -> Result<Attr, DdbError> {
        let obj = doc.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
            DdbError::validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            )
        })?;
        let (tag, v) = obj.iter().next().expect("one entry");
        let str_of = |v: &Value| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                DdbError::validation(&format!(
                    "Invalid value for attribute type {tag}: expected a string"
                ))
            })
        };
        let list_of = |v: &Value| {
            v.as_array().cloned().ok_or_else(|| {
                DdbError::validation(&format!(
                    "Invalid value for attribute type {tag}: expected a list"
                ))
            })
        };
        let empty_set = || {
            DdbError::validation(
                "One or more parameter values were invalid: An number set  may not be empty",
            )
        };
        Ok(match tag.as_str() {
            "S" => Attr::S(str_of(v)?),
            "N" => Attr::N(number(&str_of(v)?)?),
            "B" => Attr::B(unb64(&str_of(v)?)?),
            "BOOL" => Attr::Bool(v.as_bool().ok_or_else(|| {
                DdbError::validation("Invalid value for attribute type BOOL: expected a boolean")
            })?),
            "NULL" => Attr::Null,
            "SS" => {
                let items = list_of(v)?.iter().map(str_of).collect::<Result<Vec<_>, _>>()?;
                if items.is_empty() {
                    return Err(DdbError::validation(
                        "One or more parameter values were invalid: An string set  may not be empty",
                    ));
                }
                Attr::Ss(dedup_check(items)?)
            }
            "NS" => {
                let items = list_of(v)?
                    .iter()
                    .map(|x| str_of(x).and_then(|s| number(&s)))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.is_empty() {
                    return Err(empty_set());
                }
                Attr::Ns(dedup_check(items)?)
            }
            "BS" => {
                let items = list_of(v)?
                    .iter()
                    .map(|x| str_of(x).and_then(|s| unb64(&s)))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.is_empty() {
                    return Err(DdbError::validation(
                        "One or more parameter values were invalid: Binary sets should not be empty",
                    ));
                }
                Attr::Bs(dedup_check(items)?)
            }
            "L" => Attr::L(list_of(v)?.iter().map(Attr::from_json).collect::<Result<_, _>>()?),
            "M" => Attr::M(item_from_json(v)?),
            other => {
                return Err(DdbError::validation(&format!(
                    "Supplied AttributeValue has an unknown datatype: {other}"
                )))
            }
        })
    }

    /// Writes the value as `{"T": value}`.
    pub(crate) fn to_json(&self) -> Value {
        let (tag, v) = match self {
            Attr::S(s) => ("S", Value::from(s.as_str())),
            Attr::N(n) => ("N", Value::from(number_text(n))),
            Attr::B(b) => ("B", Value::from(b64(b))),
            Attr::Ss(v) => ("SS", v.iter().map(|s| Value::from(s.as_str())).collect()),
            Attr::Ns(v) => (
                "NS",
                v.iter().map(|n| Value::from(number_text(n))).collect(),
            ),
            Attr::Bs(v) => ("BS", v.iter().map(|b| Value::from(b64(b))).collect()),
            Attr::L(v) => ("L", v.iter().map(Attr::to_json).collect()),
            Attr::M(m) => ("M", item_to_json(m)),
            Attr::Bool(b) => ("BOOL", Value::from(*b)),
            Attr::Null => ("NULL", Value::from(true)),
        };
        let mut obj = Map::with_capacity(1);
        obj.insert(tag.into(), v);
        Value::Object(obj)
    }

    /// DynamoDB's size of the value in bytes (its item-size rules, approximately: strings by UTF-8
    /// bytes, numbers by significant digits, documents with their names and 3 bytes of overhead).
    pub(crate) fn size(&self) -> usize {
        match self {
            Attr::S(s) => s.len(),
            Attr::N(n) => number_size(n),
            Attr::B(b) => b.len(),
            Attr::Ss(v) => v.iter().map(String::len).sum(),
            Attr::Ns(v) => v.iter().map(number_size).sum(),
            Attr::Bs(v) => v.iter().map(Vec::len).sum(),
            Attr::L(v) => 3 + v.iter().map(|a| a.size() + 1).sum::<usize>(),
            Attr::M(m) => 3 + m.iter().map(|(k, a)| k.len() + a.size() + 1).sum::<usize>(),
            Attr::Bool(_) | Attr::Null => 1,
        }
    }

    /// Equality as DynamoDB sees it: sets are unordered.
    pub(crate) fn same(&self, other: &Attr) -> bool {
        match (self, other) {
            (Attr::Ss(a), Attr::Ss(b)) => set_eq(a, b),
            (Attr::Ns(a), Attr::Ns(b)) => set_eq(a, b),
            (Attr::Bs(a), Attr::Bs(b)) => set_eq(a, b),
            (Attr::L(a), Attr::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (Attr::M(a), Attr::M(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.same(w)))
            }
            _ => self == other,
        }
    }

    /// The order of two scalars of the same type (S by UTF-8 bytes, N by value, B by bytes).
    pub(crate) fn order(&self, other: &Attr) -> Option<Ordering> {
        match (self, other) {
            (Attr::S(a), Attr::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Attr::N(a), Attr::N(b)) => Some(a.cmp(b)),
            (Attr::B(a), Attr::B(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn number_size(n: &BigDecimal) -> usize {
    let digits = n.as_bigint_and_exponent().0.magnitude().to_string().len();
    digits.div_ceil(2) + 1
}

fn set_eq<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn dedup_check<T: PartialEq>(items: Vec<T>) -> Result<Vec<T>, DdbError> {
    for (i, x) in items.iter().enumerate() {
        if items[..i].contains(x) {
            return Err(DdbError::validation(
                "One or more parameter values were invalid: Input collection contains duplicates",
            ));
        }
    }
    Ok(items)
}

/// Reads an item (`{"name": {"S": "x"}, ...}`).
pub(crate) fn item_from_json(doc: &Value) -> Result<Item, DdbError> {
    let obj = doc.as_object().ok_or_else(|| {
        DdbError::validation("An item must be a map of attribute names to values")
    })?;
    obj.iter().map(|(k, v)| Ok((k.clone(), Attr::from_json(v)?))).collect()
}

/// Writes an item.
pub(crate) fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// An item's size: names plus values.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_exact_and_normalised() {
        let n = number("12345678901234567890.5").unwrap() + number("1").unwrap();
        assert_eq!(
            number_text(&check_number(n).unwrap()),
            "12345678901234567891.5"
        );
        assert_eq!(number_text(&number("1.50").unwrap()), "1.5");
        assert_eq!(number_text(&number("1e2").unwrap()), "100");
        assert_eq!(number_text(&number("-0.000001").unwrap()), "-0.000001");
        assert_eq!(number_text(&number("-0").unwrap()), "0");
        assert_eq!(
            number_text(&number("123456789012345678901234567890").unwrap()),
            "123456789012345678901234567890"
        );
        assert!(number("1e400").unwrap_err().message.starts_with("Number overflow"));
        assert!(number("1e-131").unwrap_err().message.starts_with("Number underflow"));
        assert!(number("1234567890123456789012345678901234567890")
            .unwrap_err()
            .message
            .contains("38 significant digits"));
        assert!(number("abc").is_err());
        assert!(number("9.9999999999999999999999999999999999999E+125").is_ok());
    }

    #[test]
    fn values_round_trip_and_sets_compare_unordered() {
        let doc = json!({"a": {"SS": ["x", "y"]}, "b": {"M": {"c": {"L": [{"N": "1.0"}, {"NULL": true}]}}},
            "d": {"B": "AAH/"}, "e": {"BOOL": false}});
        let item = item_from_json(&doc).unwrap();
        let back = item_to_json(&item);
        assert_eq!(back["b"]["M"]["c"]["L"][0], json!({"N": "1"}));
        assert_eq!(back["d"], json!({"B": "AAH/"}));
        let other = Attr::from_json(&json!({"SS": ["y", "x"]})).unwrap();
        assert!(item["a"].same(&other));
        assert!(Attr::from_json(&json!({"SS": []})).is_err());
        assert!(Attr::from_json(&json!({"SS": ["a", "a"]})).is_err());
        assert!(Attr::from_json(&json!({"S": "a", "N": "1"})).is_err());
    }
}
