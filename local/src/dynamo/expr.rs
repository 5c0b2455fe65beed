//! DynamoDB's expression languages, lexed and parsed into trees: condition (and filter, and key
//! condition) expressions, update expressions and projection expressions. Placeholders (`#name`,
//! `:value`) are resolved while parsing, and which ones were used is recorded, so a request can be
//! refused for an undefined or unused one as DynamoDB refuses it.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::error::DdbError;
use super::reserved::is_reserved;
use super::value::Attr;

/// One step of a document path: `a`, `.b`, `[2]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Name(String),
    Index(usize),
}

/// A document path, `a.b[2].c`.
pub(crate) type Path = Vec<Step>;

/// What a comparison or function compares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(Attr),
    Size(Path),
}

/// The comparators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A condition (ConditionExpression, FilterExpression, KeyConditionExpression).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    Compare(Operand, Cmp, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Exists(Path),
    NotExists(Path),
    Type(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

/// An operand of SET's right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetOperand {
    Path(Path),
    Value(Attr),
    IfNotExists(Path, Box<SetOperand>),
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

/// SET's right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetValue {
    One(SetOperand),
    Plus(SetOperand, SetOperand),
    Minus(SetOperand, SetOperand),
}

/// An update expression's actions, by clause.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Update {
    pub(crate) set: Vec<(Path, SetValue)>,
    pub(crate) remove: Vec<Path>,
    pub(crate) add: Vec<(Path, Attr)>,
    pub(crate) delete: Vec<(Path, Attr)>,
}

/// A request's placeholders and which of them its expressions used.
pub(crate) struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, Attr>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl Placeholders {
    /// Reads `ExpressionAttributeNames` and `ExpressionAttributeValues` from a request.
    pub(crate) fn from_request(doc: &Value) -> Result<Self, DdbError> {
        let mut names = HashMap::new();
        if let Some(obj) = doc["ExpressionAttributeNames"].as_object() {
            for (k, v) in obj {
                let v = v.as_str().ok_or_else(|| {
                    DdbError::validation("ExpressionAttributeNames values must be strings")
                })?;
                names.insert(k.clone(), v.to_string());
            }
        }
        let mut values = HashMap::new();
        if let Some(obj) = doc["ExpressionAttributeValues"].as_object() {
            for (k, v) in obj {
                let attr = Attr::from_json(v).map_err(|e| {
                    DdbError::validation(&format!(
                        "ExpressionAttributeValues contains invalid value: {} for key {k}",
                        e.message
                    ))
                })?;
                values.insert(k.clone(), attr);
            }
        }
        Ok(Self {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        })
    }

    /// Refuses names or values that no expression used, as DynamoDB does; `any` says whether the
    /// request had an expression at all.
    pub(crate) fn check_unused(&self, any: bool) -> Result<(), DdbError> {
        if !any && !self.names.is_empty() {
            return Err(DdbError::validation(
                "ExpressionAttributeNames can only be specified when using expressions",
            ));
        }
        if !any && !self.values.is_empty() {
            return Err(DdbError::validation(
                "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression, ConditionExpression, FilterExpression and KeyConditionExpression are null",
            ));
        }
        fn unused<'a>(
            all: impl Iterator<Item = &'a String>,
            used: &BTreeSet<String>,
        ) -> Vec<&'a str> {
            let mut left: Vec<&str> =
                all.filter(|k| !used.contains(*k)).map(String::as_str).collect();
            left.sort_unstable();
            left
        }
        let names = unused(self.names.keys(), &self.used_names);
        if !names.is_empty() {
            return Err(DdbError::validation(&format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.keys(), &self.used_values);
        if !values.is_empty() {
            return Err(DdbError::validation(&format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }

    fn name(&mut self, placeholder: &str) -> Result<String, DdbError> {
        let name = self.names.get(placeholder).cloned().ok_or_else(|| {
            DdbError::validation(&format!(
                "An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
            ))
        })?;
        self.used_names.insert(placeholder.to_string());
        Ok(name)
    }

    fn value(&mut self, placeholder: &str) -> Result<Attr, DdbError> {
        let value = self.values.get(placeholder).cloned().ok_or_else(|| {
            DdbError::validation(&format!(
                "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
            ))
        })?;
        self.used_values.insert(placeholder.to_string());
        Ok(value)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Name(String),
    Value(String),
    Num(String),
    Punct(&'static str),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Ident(s) | Tok::Name(s) | Tok::Value(s) | Tok::Num(s) => s,
            Tok::Punct(p) => p,
        }
    }
}

fn lex(kind: &str, text: &str) -> Result<Vec<Tok>, DdbError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let word = |start: usize| {
        let mut j = start;
        while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let punct = match two.as_str() {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "<>" => Some("<>"),
            _ => None,
        };
        if let Some(p) = punct {
            toks.push(Tok::Punct(p));
            i += 2;
            continue;
        }
        let single = match c {
            '(' => Some("("),
            ')' => Some(")"),
            '[' => Some("["),
            ']' => Some("]"),
            ',' => Some(","),
            '.' => Some("."),
            '=' => Some("="),
            '<' => Some("<"),
            '>' => Some(">"),
            '+' => Some("+"),
            '-' => Some("-"),
            _ => None,
        };
        if let Some(p) = single {
            toks.push(Tok::Punct(p));
            i += 1;
            continue;
        }
        if c == '#' || c == ':' {
            let end = word(i + 1);
            let s: String = chars[i..end].iter().collect();
            if end == i + 1 {
                return Err(syntax(kind, &s, &s));
            }
            toks.push(if c == '#' {
                Tok::Name(s)
            } else {
                Tok::Value(s)
            });
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            let end = word(i);
            let s: String = chars[i..end].iter().collect();
            toks.push(Tok::Num(s));
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let end = word(i);
            toks.push(Tok::Ident(chars[i..end].iter().collect()));
            i = end;
            continue;
        }
        let s = c.to_string();
        return Err(DdbError::validation(&format!(
            "Invalid {kind}: Invalid token; token: \"{s}\", near: \"{s}\""
        )));
    }
    Ok(toks)
}

fn syntax(kind: &str, token: &str, near: &str) -> DdbError {
    DdbError::validation(&format!(
        "Invalid {kind}: Syntax error; token: \"{token}\", near: \"{near}\""
    ))
}

struct Parser<'p> {
    kind: &'static str,
    toks: Vec<Tok>,
    pos: usize,
    ph: &'p mut Placeholders,
}

const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];

impl<'p> Parser<'p> {
    fn new(kind: &'static str, text: &str, ph: &'p mut Placeholders) -> Result<Self, DdbError> {
        if text.trim().is_empty() {
            return Err(DdbError::validation(&format!(
                "Invalid {kind}: The expression can not be empty;"
            )));
        }
        Ok(Self {
            kind,
            toks: lex(kind, text)?,
            pos: 0,
            ph,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }

    fn error(&self) -> DdbError {
        let token = self.peek().map(|t| t.text().to_string()).unwrap_or_else(|| "<EOF>".into());
        let from = self.pos.saturating_sub(1);
        let to = (self.pos + 2).min(self.toks.len());
        let near: Vec<&str> = self.toks[from..to].iter().map(Tok::text).collect();
        syntax(self.kind, &token, &near.join(" "))
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(word))
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn expect(&mut self, p: &str) -> Result<(), DdbError> {
        if self.is_punct(p) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn end(&self) -> Result<(), DdbError> {
        if self.pos == self.toks.len() {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// `a`, `#a`, then `.b`, `[2]`...
    fn path(&mut self) -> Result<Path, DdbError> {
        let mut path = vec![Step::Name(self.path_name()?)];
        loop {
            if self.is_punct(".") {
                self.pos += 1;
                path.push(Step::Name(self.path_name()?));
            } else if self.is_punct("[") {
                self.pos += 1;
                let Some(Tok::Num(n)) = self.peek().cloned() else {
                    return Err(self.error());
                };
                let index = n.parse().map_err(|_| self.error())?;
                self.pos += 1;
                self.expect("]")?;
                path.push(Step::Index(index));
            } else {
                return Ok(path);
            }
        }
    }

    fn path_name(&mut self) -> Result<String, DdbError> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) => {
                if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&s)) {
                    return Err(self.error());
                }
                if is_reserved(&s) {
                    return Err(DdbError::validation(&format!(
                        "Invalid {}: Attribute name is a reserved keyword; reserved keyword: {s}",
                        self.kind
                    )));
                }
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Name(s)) => {
                self.pos += 1;
                self.ph.name(&s)
            }
            _ => Err(self.error()),
        }
    }

    fn value(&mut self) -> Result<Attr, DdbError> {
        match self.peek().cloned() {
            Some(Tok::Value(s)) => {
                self.pos += 1;
                self.ph.value(&s)
            }
            _ => Err(self.error()),
        }
    }

    fn function_name(&self) -> Option<String> {
        match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Ident(s)), Some(Tok::Punct("("))) => Some(s.clone()),
            _ => None,
        }
    }

    fn operand(&mut self) -> Result<Operand, DdbError> {
        if let Some(f) = self.function_name() {
            if f == "size" {
                self.pos += 2;
                let p = self.path()?;
                self.expect(")")?;
                return Ok(Operand::Size(p));
            }
            return Err(DdbError::validation(&format!(
                "Invalid {}: Invalid function name; function: {f}",
                self.kind
            )));
        }
        match self.peek() {
            Some(Tok::Value(_)) => Ok(Operand::Value(self.value()?)),
            _ => Ok(Operand::Path(self.path()?)),
        }
    }

    fn condition(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.and()?;
        while self.is_keyword("OR") {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.not()?;
        while self.is_keyword("AND") {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, DdbError> {
        if self.is_keyword("NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, DdbError> {
        if self.is_punct("(") {
            self.pos += 1;
            let c = self.condition()?;
            self.expect(")")?;
            return Ok(c);
        }
        if let Some(f) = self.function_name() {
            let boolean = [
                "attribute_exists",
                "attribute_not_exists",
                "attribute_type",
                "begins_with",
                "contains",
            ];
            if boolean.contains(&f.as_str()) {
                self.pos += 2;
                let c = match f.as_str() {
                    "attribute_exists" => Cond::Exists(self.path()?),
                    "attribute_not_exists" => Cond::NotExists(self.path()?),
                    "attribute_type" => {
                        let p = self.path()?;
                        self.expect(",")?;
                        Cond::Type(p, self.operand()?)
                    }
                    "begins_with" => {
                        let a = self.operand()?;
                        self.expect(",")?;
                        Cond::BeginsWith(a, self.operand()?)
                    }
                    _ => {
                        let a = self.operand()?;
                        self.expect(",")?;
                        Cond::Contains(a, self.operand()?)
                    }
                };
                self.expect(")")?;
                return Ok(c);
            }
        }
        let left = self.operand()?;
        let cmp = match self.peek() {
            Some(Tok::Punct("=")) => Some(Cmp::Eq),
            Some(Tok::Punct("<>")) => Some(Cmp::Ne),
            Some(Tok::Punct("<")) => Some(Cmp::Lt),
            Some(Tok::Punct("<=")) => Some(Cmp::Le),
            Some(Tok::Punct(">")) => Some(Cmp::Gt),
            Some(Tok::Punct(">=")) => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(cmp) = cmp {
            self.pos += 1;
            return Ok(Cond::Compare(left, cmp, self.operand()?));
        }
        if self.is_keyword("BETWEEN") {
            self.pos += 1;
            let low = self.operand()?;
            if !self.is_keyword("AND") {
                return Err(self.error());
            }
            self.pos += 1;
            return Ok(Cond::Between(left, low, self.operand()?));
        }
        if self.is_keyword("IN") {
            self.pos += 1;
            self.expect("(")?;
            let mut list = vec![self.operand()?];
            while self.is_punct(",") {
                self.pos += 1;
                list.push(self.operand()?);
            }
            self.expect(")")?;
            return Ok(Cond::In(left, list));
        }
        Err(self.error())
    }

    fn set_operand(&mut self) -> Result<SetOperand, DdbError> {
        if let Some(f) = self.function_name() {
            self.pos += 2;
            let op = match f.as_str() {
                "if_not_exists" => {
                    let p = self.path()?;
                    self.expect(",")?;
                    SetOperand::IfNotExists(p, Box::new(self.set_operand()?))
                }
                "list_append" => {
                    let a = self.set_operand()?;
                    self.expect(",")?;
                    SetOperand::ListAppend(Box::new(a), Box::new(self.set_operand()?))
                }
                _ => {
                    return Err(DdbError::validation(&format!(
                        "Invalid {}: Invalid function name; function: {f}",
                        self.kind
                    )))
                }
            };
            self.expect(")")?;
            return Ok(op);
        }
        match self.peek() {
            Some(Tok::Value(_)) => Ok(SetOperand::Value(self.value()?)),
            _ => Ok(SetOperand::Path(self.path()?)),
        }
    }

    fn set_value(&mut self) -> Result<SetValue, DdbError> {
        let a = self.set_operand()?;
        if self.is_punct("+") {
            self.pos += 1;
            return Ok(SetValue::Plus(a, self.set_operand()?));
        }
        if self.is_punct("-") {
            self.pos += 1;
            return Ok(SetValue::Minus(a, self.set_operand()?));
        }
        Ok(SetValue::One(a))
    }

    fn update(&mut self) -> Result<Update, DdbError> {
        let mut update = Update::default();
        let mut seen = BTreeSet::new();
        while let Some(tok) = self.peek().cloned() {
            let Tok::Ident(word) = tok else {
                return Err(self.error());
            };
            let clause = word.to_ascii_uppercase();
            if !["SET", "REMOVE", "ADD", "DELETE"].contains(&clause.as_str()) {
                return Err(self.error());
            }
            if !seen.insert(clause.clone()) {
                return Err(DdbError::validation(&format!(
                    "Invalid UpdateExpression: The \"{clause}\" section can only be used once in an update expression;"
                )));
            }
            self.pos += 1;
            loop {
                match clause.as_str() {
                    "SET" => {
                        let p = self.path()?;
                        self.expect("=")?;
                        let v = self.set_value()?;
                        update.set.push((p, v));
                    }
                    "REMOVE" => update.remove.push(self.path()?),
                    "ADD" => {
                        let p = self.path()?;
                        let v = self.value()?;
                        update.add.push((p, v));
                    }
                    _ => {
                        let p = self.path()?;
                        let v = self.value()?;
                        update.delete.push((p, v));
                    }
                }
                if self.is_punct(",") {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if seen.is_empty() {
            return Err(self.error());
        }
        Ok(update)
    }
}

/// Parses a condition, filter or key condition expression (`kind` names it in errors).
pub(crate) fn condition(
    kind: &'static str,
    text: &str,
    ph: &mut Placeholders,
) -> Result<Cond, DdbError> {
    let mut p = Parser::new(kind, text, ph)?;
    let c = p.condition()?;
    p.end()?;
    Ok(c)
}

/// Parses an update expression.
pub(crate) fn update(text: &str, ph: &mut Placeholders) -> Result<Update, DdbError> {
    let mut p = Parser::new("UpdateExpression", text, ph)?;
    let u = p.update()?;
    p.end()?;
    Ok(u)
}

/// Parses a projection expression: paths separated by commas.
pub(crate) fn projection(text: &str, ph: &mut Placeholders) -> Result<Vec<Path>, DdbError> {
    let mut p = Parser::new("ProjectionExpression", text, ph)?;
    let mut paths = vec![p.path()?];
    while p.is_punct(",") {
        p.pos += 1;
        paths.push(p.path()?);
    }
    p.end()?;
    Ok(paths)
}

/// A path as DynamoDB prints it in messages: `a.b[2]`.
pub(crate) fn path_text(path: &Path) -> String {
    let mut out = String::new();
    for (i, step) in path.iter().enumerate() {
        match step {
            Step::Name(n) if i == 0 => out.push_str(n),
            Step::Name(n) => {
                out.push('.');
                out.push_str(n);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ph(doc: Value) -> Placeholders {
        Placeholders::from_request(&doc).unwrap()
    }

    fn name(s: &str) -> Step {
        Step::Name(s.into())
    }

    #[test]
    fn developer_guide_conditions_parse() {
        let mut p = ph(json!({
            "ExpressionAttributeNames": {"#pr": "ProductReviews", "#c": "Color"},
            "ExpressionAttributeValues": {":p": {"N": "500"}, ":lo": {"N": "1"}, ":hi": {"N": "9"},
                ":c1": {"S": "Black"}, ":c2": {"S": "Red"}, ":sub": {"S": "Bike"}, ":v_sub": {"S": "http"}}
        }));
        let c = condition(
            "ConditionExpression",
            "attribute_not_exists(Price) OR (Price between :lo and :hi AND #c IN (:c1, :c2)) AND NOT begins_with(Pictures.FrontView, :v_sub) AND size(#pr.FiveStar[0]) > :p AND contains(Title, :sub)",
            &mut p,
        )
        .unwrap();
        let Cond::Or(left, right) = c else {
            panic!("OR binds loosest")
        };
        assert_eq!(*left, Cond::NotExists(vec![name("Price")]));
        let Cond::And(_, contains) = *right else {
            panic!("AND chain")
        };
        assert!(matches!(*contains, Cond::Contains(..)));
        p.check_unused(true).unwrap();
    }

    #[test]
    fn paths_have_names_indexes_and_placeholders() {
        let mut p = ph(json!({"ExpressionAttributeNames": {"#m": "my-map"}}));
        let paths = projection("a.b[2].c, #m[10]", &mut p).unwrap();
        assert_eq!(
            paths,
            vec![
                vec![name("a"), name("b"), Step::Index(2), name("c")],
                vec![name("my-map"), Step::Index(10)]
            ]
        );
        assert_eq!(path_text(&paths[0]), "a.b[2].c");
    }

    #[test]
    fn update_clauses_parse() {
        let mut p = ph(
            json!({"ExpressionAttributeValues": {":n": {"N": "1"}, ":l": {"L": []}, ":s": {"SS": ["x"]}}}),
        );
        let u = update(
            "SET a = a + :n, b = if_not_exists(b, :n), c = list_append(c, :l) REMOVE d, e[1] ADD f :n DELETE g :s",
            &mut p,
        )
        .unwrap();
        assert_eq!(u.set.len(), 3);
        assert_eq!(
            u.remove,
            vec![vec![name("d")], vec![name("e"), Step::Index(1)]]
        );
        assert_eq!(u.add.len(), 1);
        assert_eq!(u.delete.len(), 1);
        assert!(matches!(u.set[0].1, SetValue::Plus(..)));
    }

    #[test]
    fn errors_are_worded_as_dynamodb_words_them() {
        let mut p = ph(json!({}));
        assert_eq!(
            update("SET", &mut p).unwrap_err().message,
            "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"SET\""
        );
        assert_eq!(
            condition("FilterExpression", "a = = b", &mut p).unwrap_err().message,
            "Invalid FilterExpression: Syntax error; token: \"=\", near: \"= = b\""
        );
        assert_eq!(
            update("SET a = :undefined", &mut p).unwrap_err().message,
            "An expression attribute value used in expression is not defined; attribute value: :undefined"
        );
        assert_eq!(
            projection("#x", &mut p).unwrap_err().message,
            "An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            update("SET a = :v SET b = :v", &mut ph(json!({"ExpressionAttributeValues": {":v": {"N": "1"}}})))
                .unwrap_err()
                .message,
            "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;"
        );
        assert!(projection("name", &mut p)
            .unwrap_err()
            .message
            .contains("reserved keyword: name"));
        let p = ph(json!({"ExpressionAttributeValues": {":a": {"N": "1"}, ":b": {"N": "2"}}}));
        assert_eq!(
            p.check_unused(true).unwrap_err().message,
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :b}"
        );
    }
}
