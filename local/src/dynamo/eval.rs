//! Evaluating parsed expressions against items: conditions and filters, update actions (SET with
//! `+`/`-`, `if_not_exists`, `list_append`; REMOVE; ADD; DELETE) and projections, with DynamoDB's
//! rules for missing attributes and mismatched types.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use bigdecimal::BigDecimal;

use super::error::DdbError;
use super::expr::{path_text, Cmp, Cond, Operand, Path, SetOperand, SetValue, Step, Update};
use super::value::{check_number, Attr, Item};

/// The value at `path` in `item`, if there is one.
pub(crate) fn resolve<'a>(item: &'a Item, path: &Path) -> Option<&'a Attr> {
    let mut steps = path.iter();
    let Some(Step::Name(first)) = steps.next() else {
        return None;
    };
    let mut at = item.get(first)?;
    for step in steps {
        at = match (step, at) {
            (Step::Name(n), Attr::M(m)) => m.get(n)?,
            (Step::Index(i), Attr::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

fn operand<'a>(item: &'a Item, op: &'a Operand) -> Option<Cow<'a, Attr>> {
    match op {
        Operand::Path(p) => resolve(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(p) => {
            let n = match resolve(item, p)? {
                Attr::S(s) => s.len(),
                Attr::B(b) => b.len(),
                Attr::Ss(v) => v.len(),
                Attr::Ns(v) => v.len(),
                Attr::Bs(v) => v.len(),
                Attr::L(v) => v.len(),
                Attr::M(m) => m.len(),
                _ => return None,
            };
            Some(Cow::Owned(Attr::N(BigDecimal::from(n as u64))))
        }
    }
}

fn compare(a: Option<&Attr>, cmp: Cmp, b: Option<&Attr>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        // A missing attribute equals nothing, so it differs from everything.
        return cmp == Cmp::Ne;
    };
    match cmp {
        Cmp::Eq => a.same(b),
        Cmp::Ne => !a.same(b),
        _ => match a.order(b) {
            Some(o) => match cmp {
                Cmp::Lt => o == Ordering::Less,
                Cmp::Le => o != Ordering::Greater,
                Cmp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
            None => false,
        },
    }
}

const TYPES: &[&str] = &["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"];

/// Whether `item` satisfies the condition (a missing item is an empty one).
pub(crate) fn eval(c: &Cond, item: &Item) -> Result<bool, DdbError> {
    Ok(match c {
        Cond::Compare(a, cmp, b) => {
            let (a, b) = (operand(item, a), operand(item, b));
            compare(a.as_deref(), *cmp, b.as_deref())
        }
        Cond::Between(a, lo, hi) => {
            let (a, lo, hi) = (operand(item, a), operand(item, lo), operand(item, hi));
            compare(a.as_deref(), Cmp::Ge, lo.as_deref())
                && compare(a.as_deref(), Cmp::Le, hi.as_deref())
        }
        Cond::In(a, list) => {
            let a = operand(item, a);
            list.iter().any(|b| compare(a.as_deref(), Cmp::Eq, operand(item, b).as_deref()))
        }
        Cond::And(a, b) => eval(a, item)? && eval(b, item)?,
        Cond::Or(a, b) => eval(a, item)? || eval(b, item)?,
        Cond::Not(a) => !eval(a, item)?,
        Cond::Exists(p) => resolve(item, p).is_some(),
        Cond::NotExists(p) => resolve(item, p).is_none(),
        Cond::Type(p, t) => {
            let wanted = match operand(item, t).as_deref() {
                Some(Attr::S(s)) if TYPES.contains(&s.as_str()) => s.clone(),
                Some(Attr::S(s)) => {
                    return Err(DdbError::validation(&format!(
                        "Invalid attribute type name found; type: {s}, valid types: {{ S,SS,N,NS,B,BS,BOOL,NULL,L,M }}"
                    )))
                }
                _ => {
                    return Err(DdbError::validation(
                        "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N",
                    ))
                }
            };
            resolve(item, p).is_some_and(|v| v.type_name() == wanted)
        }
        Cond::BeginsWith(a, b) => {
            match (operand(item, a).as_deref(), operand(item, b).as_deref()) {
                (Some(Attr::S(s)), Some(Attr::S(p))) => s.starts_with(p.as_str()),
                (Some(Attr::B(s)), Some(Attr::B(p))) => s.starts_with(p),
                _ => false,
            }
        }
        Cond::Contains(a, b) => match (operand(item, a).as_deref(), operand(item, b).as_deref()) {
            (Some(Attr::S(s)), Some(Attr::S(p))) => s.contains(p.as_str()),
            (Some(Attr::B(s)), Some(Attr::B(p))) => {
                p.is_empty() || s.windows(p.len()).any(|w| w == p.as_slice())
            }
            (Some(Attr::Ss(v)), Some(Attr::S(x))) => v.contains(x),
            (Some(Attr::Ns(v)), Some(Attr::N(x))) => v.contains(x),
            (Some(Attr::Bs(v)), Some(Attr::B(x))) => v.contains(x),
            (Some(Attr::L(v)), Some(x)) => v.iter().any(|e| e.same(x)),
            _ => false,
        },
    })
}

/// A projection of `item` onto `paths` (nested paths keep their nesting).
pub(crate) fn project(item: &Item, paths: &[Path]) -> Item {
    let mut out = Item::new();
    for path in paths {
        if let Some(v) = resolve(item, path) {
            let Some(Step::Name(first)) = path.first() else {
                continue;
            };
            if path.len() == 1 {
                out.insert(first.clone(), v.clone());
                continue;
            }
            let slot = out.entry(first.clone()).or_insert_with(|| container(&path[1]));
            place(slot, &path[1..], v.clone());
        }
    }
    out
}

fn container(next: &Step) -> Attr {
    match next {
        Step::Name(_) => Attr::M(Item::new()),
        Step::Index(_) => Attr::L(Vec::new()),
    }
}

fn place(at: &mut Attr, rest: &[Step], v: Attr) {
    let last = rest.len() == 1;
    match (&rest[0], at) {
        (Step::Name(n), Attr::M(m)) => {
            if last {
                m.insert(n.clone(), v);
            } else {
                let slot = m.entry(n.clone()).or_insert_with(|| container(&rest[1]));
                place(slot, &rest[1..], v);
            }
        }
        (Step::Index(_), Attr::L(l)) => {
            if last {
                l.push(v);
            } else {
                l.push(container(&rest[1]));
                let slot = l.last_mut().expect("just pushed");
                place(slot, &rest[1..], v);
            }
        }
        _ => {}
    }
}

fn invalid_path() -> DdbError {
    DdbError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

fn operand_type(op: &str, v: &Attr) -> DdbError {
    DdbError::validation(&format!(
        "Incorrect operand type for operator or function; operator or function: {op}, operand type: {}",
        v.type_name()
    ))
}

fn set_operand(old: &Item, op: &SetOperand) -> Result<Attr, DdbError> {
    match op {
        SetOperand::Path(p) => resolve(old, p).cloned().ok_or_else(|| {
            DdbError::validation(
                "The provided expression refers to an attribute that does not exist in the item",
            )
        }),
        SetOperand::Value(v) => Ok(v.clone()),
        SetOperand::IfNotExists(p, other) => match resolve(old, p) {
            Some(v) => Ok(v.clone()),
            None => set_operand(old, other),
        },
        SetOperand::ListAppend(a, b) => match (set_operand(old, a)?, set_operand(old, b)?) {
            (Attr::L(mut a), Attr::L(b)) => {
                a.extend(b);
                Ok(Attr::L(a))
            }
            (Attr::L(_), other) | (other, _) => Err(operand_type("list_append", &other)),
        },
    }
}

fn set_value(old: &Item, v: &SetValue) -> Result<Attr, DdbError> {
    let arith = |a: &SetOperand, b: &SetOperand, sign: &str| -> Result<Attr, DdbError> {
        match (set_operand(old, a)?, set_operand(old, b)?) {
            (Attr::N(x), Attr::N(y)) => {
                let r = if sign == "+" { x + y } else { x - y };
                Ok(Attr::N(check_number(r)?))
            }
            (Attr::N(_), other) | (other, _) => Err(operand_type(sign, &other)),
        }
    };
    match v {
        SetValue::One(a) => set_operand(old, a),
        SetValue::Plus(a, b) => arith(a, b, "+"),
        SetValue::Minus(a, b) => arith(a, b, "-"),
    }
}

/// Puts `v` at `path`, whose parent must exist (a list index past the end appends).
fn set_path(item: &mut Item, path: &Path, v: Attr) -> Result<(), DdbError> {
    let Some(Step::Name(first)) = path.first() else {
        return Err(invalid_path());
    };
    if path.len() == 1 {
        item.insert(first.clone(), v);
        return Ok(());
    }
    let mut at = item.get_mut(first).ok_or_else(invalid_path)?;
    for (i, step) in path[1..].iter().enumerate() {
        let last = i == path.len() - 2;
        at = match (step, at) {
            (Step::Name(n), Attr::M(m)) if last => {
                m.insert(n.clone(), v);
                return Ok(());
            }
            (Step::Index(idx), Attr::L(l)) if last => {
                if *idx < l.len() {
                    l[*idx] = v;
                } else {
                    l.push(v);
                }
                return Ok(());
            }
            (Step::Name(n), Attr::M(m)) => m.get_mut(n).ok_or_else(invalid_path)?,
            (Step::Index(idx), Attr::L(l)) => l.get_mut(*idx).ok_or_else(invalid_path)?,
            _ => return Err(invalid_path()),
        };
    }
    Err(invalid_path())
}

/// Removes what is at `path`, if anything.
fn remove_path(item: &mut Item, path: &Path) {
    let Some(Step::Name(first)) = path.first() else {
        return;
    };
    if path.len() == 1 {
        item.remove(first);
        return;
    }
    let Some(mut at) = item.get_mut(first) else {
        return;
    };
    for (i, step) in path[1..].iter().enumerate() {
        let last = i == path.len() - 2;
        at = match (step, at) {
            (Step::Name(n), Attr::M(m)) if last => {
                m.remove(n);
                return;
            }
            (Step::Index(idx), Attr::L(l)) if last => {
                if *idx < l.len() {
                    l.remove(*idx);
                }
                return;
            }
            (Step::Name(n), Attr::M(m)) => match m.get_mut(n) {
                Some(a) => a,
                None => return,
            },
            (Step::Index(idx), Attr::L(l)) => match l.get_mut(*idx) {
                Some(a) => a,
                None => return,
            },
            _ => return,
        };
    }
}

fn step_order(a: &Path, b: &Path) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Step::Name(p), Step::Name(q)) => p.cmp(q),
            (Step::Index(p), Step::Index(q)) => p.cmp(q),
            (Step::Name(_), Step::Index(_)) => Ordering::Less,
            (Step::Index(_), Step::Name(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn path_list(p: &Path) -> String {
    let parts: Vec<String> = p
        .iter()
        .map(|s| match s {
            Step::Name(n) => n.clone(),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The item after an update, and the top-level attributes the update touched (for
/// `UPDATED_OLD`/`UPDATED_NEW`). `keys` are the key attributes, which no action may change.
pub(crate) fn apply_update(
    u: &Update,
    old: &Item,
    keys: &[&str],
) -> Result<(Item, BTreeSet<String>), DdbError> {
    let paths: Vec<&Path> = u
        .set
        .iter()
        .map(|(p, _)| p)
        .chain(u.remove.iter())
        .chain(u.add.iter().map(|(p, _)| p))
        .chain(u.delete.iter().map(|(p, _)| p))
        .collect();
    let mut touched = BTreeSet::new();
    for (i, p) in paths.iter().enumerate() {
        if let Some(Step::Name(first)) = p.first() {
            if keys.contains(&first.as_str()) {
                return Err(DdbError::validation(&format!(
                    "One or more parameter values were invalid: Cannot update attribute {first}. This attribute is part of the key"
                )));
            }
            touched.insert(first.clone());
        }
        for q in &paths[..i] {
            let n = p.len().min(q.len());
            if p[..n] == q[..n] {
                return Err(DdbError::validation(&format!(
                    "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                    path_list(q),
                    path_list(p)
                )));
            }
        }
    }
    // Every right-hand side reads the item as it was before this update.
    let values = u.set.iter().map(|(_, v)| set_value(old, v)).collect::<Result<Vec<_>, _>>()?;
    let mut new = old.clone();
    for ((p, _), v) in u.set.iter().zip(values) {
        set_path(&mut new, p, v)?;
    }
    let mut removals: Vec<&Path> = u.remove.iter().collect();
    // Higher list indexes first, so each index names the element it named before the update.
    removals.sort_by(|a, b| step_order(b, a));
    for p in removals {
        remove_path(&mut new, p);
    }
    for (p, v) in &u.add {
        let next = match (resolve(&new, p), v) {
            (None, Attr::N(_) | Attr::Ss(_) | Attr::Ns(_) | Attr::Bs(_)) => v.clone(),
            (None, other) => return Err(operand_type("ADD", other)),
            (Some(Attr::N(a)), Attr::N(b)) => Attr::N(check_number(a + b)?),
            (Some(Attr::Ss(a)), Attr::Ss(b)) => Attr::Ss(union(a, b)),
            (Some(Attr::Ns(a)), Attr::Ns(b)) => Attr::Ns(union(a, b)),
            (Some(Attr::Bs(a)), Attr::Bs(b)) => Attr::Bs(union(a, b)),
            (Some(_), other) => {
                return Err(DdbError::validation(&format!(
                    "An operand in the update expression has an incorrect data type; path: {}, operand type: {}",
                    path_text(p),
                    other.type_name()
                )))
            }
        };
        set_path(&mut new, p, next)?;
    }
    for (p, v) in &u.delete {
        let next = match (resolve(&new, p), v) {
            (
                _,
                Attr::S(_)
                | Attr::N(_)
                | Attr::B(_)
                | Attr::L(_)
                | Attr::M(_)
                | Attr::Bool(_)
                | Attr::Null,
            ) => return Err(operand_type("DELETE", v)),
            (None, _) => continue,
            (Some(Attr::Ss(a)), Attr::Ss(b)) => non_empty(minus(a, b), Attr::Ss),
            (Some(Attr::Ns(a)), Attr::Ns(b)) => non_empty(minus(a, b), Attr::Ns),
            (Some(Attr::Bs(a)), Attr::Bs(b)) => non_empty(minus(a, b), Attr::Bs),
            (Some(_), _) => {
                return Err(DdbError::validation(
                    "An operand in the update expression has an incorrect data type",
                ))
            }
        };
        match next {
            Some(set) => set_path(&mut new, p, set)?,
            None => remove_path(&mut new, p),
        }
    }
    Ok((new, touched))
}

fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

fn minus<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

fn non_empty<T>(v: Vec<T>, make: fn(Vec<T>) -> Attr) -> Option<Attr> {
    (!v.is_empty()).then(|| make(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::expr::{self, Placeholders};
    use crate::dynamo::value::{item_from_json, item_to_json};
    use serde_json::{json, Value};

    fn item(doc: Value) -> Item {
        item_from_json(&doc).unwrap()
    }

    fn cond(text: &str, values: Value) -> bool {
        let doc = json!({"ExpressionAttributeValues": values});
        let mut ph = Placeholders::from_request(&doc).unwrap();
        let c = expr::condition("ConditionExpression", text, &mut ph).unwrap();
        let it = item(json!({
            "id": {"S": "p1"}, "Price": {"N": "650"}, "Color": {"SS": ["Black", "Red"]},
            "Title": {"S": "Bicycle 123"}, "Pictures": {"M": {"FrontView": {"S": "http://example.com/1"}}},
            "Reviews": {"L": [{"N": "5"}, {"S": "ok"}]}, "Flag": {"BOOL": true}
        }));
        eval(&c, &it).unwrap()
    }

    #[test]
    fn developer_guide_conditions_evaluate() {
        let v = json!({":p": {"N": "500"}, ":lo": {"N": "500"}, ":hi": {"N": "700"},
            ":c": {"S": "Black"}, ":t": {"S": "Bicycle"}, ":http": {"S": "http://"}, ":sz": {"N": "2"},
            ":ty": {"S": "SS"}, ":five": {"N": "5.0"}, ":s": {"S": "p1"}, ":x": {"S": "x"}});
        assert!(cond("Price > :p", v.clone()));
        assert!(cond("Price BETWEEN :lo AND :hi", v.clone()));
        assert!(cond(
            "contains(Color, :c) AND begins_with(Title, :t)",
            v.clone()
        ));
        assert!(cond("begins_with(Pictures.FrontView, :http)", v.clone()));
        assert!(cond(
            "size(Color) = :sz AND attribute_type(Color, :ty)",
            v.clone()
        ));
        assert!(cond(
            "Reviews[0] = :five AND contains(Reviews, :five)",
            v.clone()
        ));
        assert!(cond("id IN (:x, :s)", v.clone()));
        assert!(cond(
            "attribute_not_exists(Gone) AND NOT attribute_exists(Pictures.Side)",
            v.clone()
        ));
        assert!(cond("Gone <> :x", v.clone()));
        assert!(!cond("Gone = :x OR Gone < :x", v.clone()));
        assert!(!cond("Title < :p", v.clone()), "S against N orders nothing");
        assert!(cond("NOT (Price < :p OR Flag = :x)", v));
    }

    fn update(old: Value, text: &str, values: Value) -> Result<Value, DdbError> {
        let doc = json!({"ExpressionAttributeValues": values});
        let mut ph = Placeholders::from_request(&doc)?;
        let u = expr::update(text, &mut ph)?;
        let (new, _) = apply_update(&u, &item(old), &["id"])?;
        Ok(item_to_json(&new))
    }

    #[test]
    fn updates_apply_every_action() {
        let old = json!({"id": {"S": "k"}, "n": {"N": "12345678901234567890.5"}, "l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]},
            "s": {"SS": ["a", "b"]}, "s2": {"SS": ["a", "b"]}, "m": {"M": {"x": {"N": "1"}}}});
        let new = update(
            old.clone(),
            "SET n = n + :one, m.y = :one, l[1] = :one, c = if_not_exists(c, :one), l2 = list_append(:l, l) REMOVE l[0] ADD s :t, cnt :one DELETE s2 :a",
            json!({":one": {"N": "1"}, ":l": {"L": [{"S": "z"}]}, ":t": {"SS": ["c"]}, ":a": {"SS": ["a"]}}),
        )
        .unwrap();
        assert_eq!(new["n"], json!({"N": "12345678901234567891.5"}));
        assert_eq!(new["m"], json!({"M": {"x": {"N": "1"}, "y": {"N": "1"}}}));
        assert_eq!(new["l"], json!({"L": [{"N": "1"}, {"N": "3"}]}));
        assert_eq!(new["c"], json!({"N": "1"}));
        assert_eq!(new["cnt"], json!({"N": "1"}));
        assert_eq!(new["l2"]["L"].as_array().unwrap().len(), 4);
        assert_eq!(new["s"], json!({"SS": ["a", "b", "c"]}));
        assert_eq!(new["s2"], json!({"SS": ["b"]}));

        let err = |text: &str| {
            update(
                old.clone(),
                text,
                json!({":one": {"N": "1"}, ":s": {"S": "x"}}),
            )
            .unwrap_err()
            .message
        };
        assert!(err("SET gone = gone + :one").contains("does not exist in the item"));
        assert!(err("SET n = n + :s").contains("operator or function: +, operand type: S"));
        assert!(err("SET id = :s").contains("Cannot update attribute id"));
        assert!(err("SET a = :one REMOVE a").contains("Two document paths overlap"));
        assert!(err("SET q.r = :one")
            .contains("document path provided in the update expression is invalid"));
        assert!(err("ADD n :s").contains("incorrect data type"));
        assert!(err("SET n = :one + :one REMOVE m ADD x :s").contains("ADD, operand type: S"));
    }

    #[test]
    fn projections_keep_nesting() {
        let it = item(
            json!({"a": {"M": {"b": {"L": [{"N": "1"}, {"N": "2"}]}, "c": {"S": "x"}}}, "d": {"S": "y"}}),
        );
        let p = vec![
            vec![
                Step::Name("a".into()),
                Step::Name("b".into()),
                Step::Index(1),
            ],
            vec![Step::Name("d".into())],
            vec![Step::Name("zz".into())],
        ];
        assert_eq!(
            item_to_json(&project(&it, &p)),
            json!({"a": {"M": {"b": {"L": [{"N": "2"}]}}}, "d": {"S": "y"}})
        );
    }
}
