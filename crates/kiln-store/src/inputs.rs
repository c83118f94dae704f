//! Typed builder inputs: a derivation's attributes read into one struct, checked once.
//!
//! Attributes reach a builder as Nix hands them to a builder's environment: strings, where
//! `true` is `"1"`, `false` and `null` are `""`, a list is its items joined by spaces and a
//! derivation is its `outPath`. A builder declares what it reads as a `serde` struct, and
//! [`parse`] fills it from those strings:
//!
//! | field type | attribute |
//! | --- | --- |
//! | `String` | as given |
//! | `bool` | `"1"` or `""` |
//! | integers | decimal digits |
//! | `Option<T>` | missing or `""` is `None` |
//! | `Vec<T>` | whitespace-separated items |
//! | unit-variant enums | the variant's name (`rename_all` applies) |
//! | [`StorePath`] | a path inside one of the derivation's inputs |
//! | anything, with `#[serde(deserialize_with = "kiln_store::inputs::json")]` | JSON text (`builtins.toJSON`) |
//!
//! A missing or ill-typed attribute is an [`InputError`] naming the derivation and the
//! attribute (with the path inside a JSON attribute, `contents: [0].source`).
//!
//! **Invariant:** a builder reads files only through [`StorePath`]s, and a `StorePath` exists
//! only if it lies inside the output of one of its derivation's inputs. The derivation's key
//! covers its inputs' keys, so everything a builder reads is covered by the key. A string that
//! names a host file (`"/etc/secret"`) is refused with the attribute's name, at evaluation
//! ([`check`], lexically) and again at build time ([`parse`], after resolving symlinks, so a
//! link inside an entry cannot lead out of it).
//!
//! Design: the check needs the inputs' paths while serde fills the struct, and serde's derive
//! hands a field's `Deserialize` no context. So [`parse`] keeps them in a thread-local for the
//! duration of one call. Rejected: a pass over the finished struct (each builder would list its
//! paths by hand, and a forgotten field would be read unchecked), and a deserializer that spots
//! `StorePath` by its newtype name (it cannot reach into JSON-valued attributes).

use crate::derivation::Derivation;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};

/// A derivation's attribute that cannot be read as its builder needs it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("derivation `{derivation}`: attribute `{attribute}`: {message}")]
#[diagnostic(
    code(kiln::store::bad_input),
    help("builders read what their derivation names: see the builder's documented attributes")
)]
pub struct InputError {
    pub derivation: String,
    /// The attribute, and the path inside it for JSON attributes (`contents: [0].source`).
    pub attribute: String,
    pub message: String,
}

/// A path inside the output of one of the derivation's inputs: the only kind of path a builder
/// may read. Made only by [`parse`]/[`check`] (see the module comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorePath {
    path: PathBuf,
    /// The input entry the path lies in (as the derivation names it).
    root: PathBuf,
    /// The derivation whose attribute this is, for errors.
    derivation: std::sync::Arc<str>,
}

impl StorePath {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` (relative, without `..`) below this path. When the result exists it is resolved
    /// and must still lie in the same input entry: a symlink in a package (`lib -> /usr/lib`)
    /// must not lead a builder to the host's files.
    pub fn join(&self, rel: impl AsRef<Path>) -> Result<PathBuf, InputError> {
        let rel = rel.as_ref();
        let bad = |message: String| InputError {
            derivation: self.derivation.to_string(),
            attribute: self.path.display().to_string(),
            message,
        };
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(bad(format!(
                "`{}` must be a relative path without `..`",
                rel.display()
            )));
        }
        let joined = self.path.join(rel);
        if std::fs::symlink_metadata(&joined).is_ok() {
            resolved_inside(&joined, &self.root).map_err(bad)?;
        }
        Ok(joined)
    }
}

impl AsRef<Path> for StorePath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl<'de> serde::Deserialize<'de> for StorePath {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<StorePath, D::Error> {
        let text = String::deserialize(deserializer)?;
        SCOPE.with(|scope| match &*scope.borrow() {
            Some(scope) => scope.store_path(&text).map_err(de::Error::custom),
            None => Err(de::Error::custom(
                "a store path can only be read by kiln_store::inputs::parse (a kiln bug)",
            )),
        })
    }
}

/// Reads `drv`'s attributes into `T` at build time. `inputs` are the realised paths of the
/// derivation's inputs; every [`StorePath`] is resolved and must lie inside one of them.
pub fn parse<T: DeserializeOwned>(drv: &Derivation, inputs: &[PathBuf]) -> Result<T, InputError> {
    run(drv, inputs, true)
}

/// Checks `drv`'s attributes against `T` at evaluation time, before anything exists: types,
/// and that every [`StorePath`] lies lexically inside one of `inputs` (the inputs' out paths).
pub fn check<T: DeserializeOwned>(drv: &Derivation, inputs: &[PathBuf]) -> Result<T, InputError> {
    run(drv, inputs, false)
}

/// For `#[serde(deserialize_with = "kiln_store::inputs::json")]`: an attribute holding JSON
/// text (`builtins.toJSON ...`), read into the field's type.
pub fn json<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: de::Deserializer<'de>,
    T: DeserializeOwned,
{
    let text = String::deserialize(deserializer)?;
    let mut json = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut json).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return de::Error::custom(format!("invalid JSON: {inner}"));
        }
        // A data error's position in a one-line JSON text says nothing the path does not.
        let text = inner.to_string();
        let text = text
            .rfind(" at line ")
            .map_or(text.as_str(), |at| &text[..at]);
        if path == "." {
            de::Error::custom(text)
        } else {
            de::Error::custom(format!("{path}: {text}"))
        }
    })
}

use serde::Deserialize as _;

struct Scope {
    derivation: std::sync::Arc<str>,
    inputs: Vec<PathBuf>,
    /// Build time: paths exist and are resolved; evaluation time: lexical only.
    resolve: bool,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Clears the scope however `run` returns.
struct ScopeGuard(Option<Scope>);

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        SCOPE.with(|scope| *scope.borrow_mut() = previous);
    }
}

fn run<T: DeserializeOwned>(
    drv: &Derivation,
    inputs: &[PathBuf],
    resolve: bool,
) -> Result<T, InputError> {
    let scope = Scope {
        derivation: drv.name.as_str().into(),
        inputs: inputs.to_vec(),
        resolve,
    };
    // Nested parses (a builder parsing inside a parse) restore the outer scope.
    let _guard = ScopeGuard(SCOPE.with(|s| s.borrow_mut().replace(scope)));
    serde_path_to_error::deserialize(Attributes(drv)).map_err(|err| {
        let attribute = err.path().to_string();
        InputError {
            derivation: drv.name.clone(),
            attribute: if attribute == "." {
                "(all)".to_string()
            } else {
                attribute
            },
            message: err.into_inner().to_string(),
        }
    })
}

impl Scope {
    fn store_path(&self, text: &str) -> Result<StorePath, String> {
        let path = Path::new(text);
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return Err(format!(
                "`{text}` is not an absolute path without `..`, so it is not a store path"
            ));
        }
        let Some(root) = self.inputs.iter().find(|input| path.starts_with(input)) else {
            return Err(format!(
                "`{text}` is not in the output of one of this derivation's inputs: a builder \
                 reads only what its key covers. Use a path value (`./file`), which kiln adds to \
                 the store by content, or a package, instead of a string naming a file"
            ));
        };
        if self.resolve {
            resolved_inside(path, root)?;
        }
        Ok(StorePath {
            path: path.to_path_buf(),
            root: root.clone(),
            derivation: self.derivation.clone(),
        })
    }
}

/// Resolves `path` and checks it is still inside the entry `root` (whose own name is taken as
/// is: an entry that is itself a symlink resolves elsewhere and is refused).
fn resolved_inside(path: &Path, root: &Path) -> Result<(), String> {
    let resolve =
        |p: &Path| std::fs::canonicalize(p).map_err(|e| format!("`{}`: {e}", p.display()));
    let real_root = match (root.parent(), root.file_name()) {
        (Some(parent), Some(name)) => resolve(parent)?.join(name),
        _ => return Err(format!("`{}` is not a store entry", root.display())),
    };
    let real = resolve(path)?;
    if real.starts_with(&real_root) {
        Ok(())
    } else {
        Err(format!(
            "`{}` resolves to `{}`, outside the input `{}`",
            path.display(),
            real.display(),
            root.display()
        ))
    }
}

/// The derivation's attributes as a map (`args` too, as a list).
struct Attributes<'a>(&'a Derivation);

impl<'de, 'a> de::Deserializer<'de> for Attributes<'a> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let args = (!self.0.args.is_empty()).then(|| ("args", Value::Args(&self.0.args)));
        let entries = self
            .0
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), Value::Text(v.as_str())))
            .chain(args);
        visitor.visit_map(de::value::MapDeserializer::new(entries))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// One attribute's value: an environment string, or the argument list.
#[derive(Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Args(&'a [String]),
}

impl<'de, 'a> IntoDeserializer<'de, de::value::Error> for Value<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'a> Value<'a> {
    fn text(self) -> Result<&'a str, de::value::Error> {
        match self {
            Value::Text(text) => Ok(text),
            Value::Args(_) => Err(de::Error::custom("`args` is a list")),
        }
    }

    fn number<T: std::str::FromStr>(self, what: &str) -> Result<T, de::value::Error> {
        let text = self.text()?;
        text.trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("`{text}` is not {what}")))
    }
}

impl<'de, 'a> de::Deserializer<'de> for Value<'a> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Text(text) => visitor.visit_str(text),
            Value::Args(_) => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.text()? {
            "1" => visitor.visit_bool(true),
            "" => visitor.visit_bool(false),
            other => Err(de::Error::custom(format!(
                "`{other}` is not a Boolean (Nix passes `true` as \"1\" and `false` as \"\")"
            ))),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_u8(self.number("a number from 0 to 255")?)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_u16(self.number("a number from 0 to 65535")?)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_u32(self.number("a number from 0 to 4294967295")?)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_u64(self.number("a non-negative integer")?)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_i32(self.number("a 32-bit integer")?)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_i64(self.number("an integer")?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Text("") => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Text(text) => visitor.visit_seq(de::value::SeqDeserializer::new(
                text.split_whitespace().map(Value::Text),
            )),
            Value::Args(args) => visitor.visit_seq(de::value::SeqDeserializer::new(
                args.iter().map(|a| Value::Text(a.as_str())),
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let text = self.text()?;
        IntoDeserializer::<de::value::Error>::into_deserializer(text)
            .deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Example {
        name: String,
        flag: bool,
        off: bool,
        count: u32,
        words: Vec<String>,
        maybe: Option<String>,
        absent: Option<String>,
        mode: Mode,
        #[serde(deserialize_with = "json")]
        items: Vec<Item>,
        tree: StorePath,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Zstd,
        Gzip,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        source: StorePath,
        target: String,
    }

    fn drv(pairs: &[(&str, &str)]) -> Derivation {
        let mut drv = Derivation::new("example", "test");
        for (k, v) in pairs {
            drv.env.insert((*k).into(), (*v).into());
        }
        drv
    }

    const GOOD: &[(&str, &str)] = &[
        ("name", "x"),
        ("flag", "1"),
        ("off", ""),
        ("count", "42"),
        ("words", "a  b\nc"),
        ("maybe", ""),
        ("mode", "gzip"),
        ("items", r#"[{"source":"/s/aaa-in/f","target":"/f"}]"#),
        ("tree", "/s/aaa-in"),
        ("system", "x86_64-linux"),
    ];

    #[test]
    fn reads_every_kind_of_attribute() {
        let inputs = [PathBuf::from("/s/aaa-in")];
        let parsed: Example = run(&drv(GOOD), &inputs, false).unwrap();
        assert_eq!(parsed.name, "x");
        assert!(parsed.flag && !parsed.off);
        assert_eq!(parsed.count, 42);
        assert_eq!(parsed.words, ["a", "b", "c"]);
        assert_eq!((parsed.maybe, parsed.absent), (None, None));
        assert_eq!(parsed.mode, Mode::Gzip);
        assert_eq!(parsed.items[0].source.path(), Path::new("/s/aaa-in/f"));
        assert_eq!(parsed.tree.path(), Path::new("/s/aaa-in"));
    }

    fn error_for(change: (&str, &str)) -> InputError {
        let mut pairs: Vec<(&str, &str)> = GOOD
            .iter()
            .filter(|(k, _)| *k != change.0)
            .copied()
            .collect();
        pairs.push(change);
        let inputs = [PathBuf::from("/s/aaa-in")];
        run::<Example>(&drv(&pairs), &inputs, false).unwrap_err()
    }

    #[test]
    fn names_the_attribute_that_is_wrong() {
        let err = error_for(("flag", "yes"));
        assert_eq!(err.attribute, "flag");
        assert!(err.message.contains("not a Boolean"), "{err}");
        let err = error_for(("count", "-1"));
        assert_eq!(err.attribute, "count");
        let err = error_for(("mode", "lz4"));
        assert_eq!(err.attribute, "mode");
        assert_eq!(err.derivation, "example");
    }

    #[test]
    fn refuses_paths_outside_the_inputs() {
        let err = error_for(("tree", "/etc/secret"));
        assert_eq!(err.attribute, "tree");
        assert!(err.message.contains("not in the output"), "{err}");
        let err = error_for(("tree", "/s/aaa-in/../bbb-other"));
        assert!(err.message.contains("without `..`"), "{err}");
        let err = error_for(("items", r#"[{"source":"/etc/passwd","target":"/f"}]"#));
        assert_eq!(err.attribute, "items");
        assert!(err.message.starts_with("[0].source: "), "{err}");
        let err = error_for(("tree", "/s/aaa-input-longer"));
        assert!(err.message.contains("not in the output"), "{err}");
    }

    #[test]
    fn a_missing_attribute_is_named() {
        let pairs: Vec<_> = GOOD
            .iter()
            .filter(|(k, _)| *k != "count")
            .copied()
            .collect();
        let err = run::<Example>(&drv(&pairs), &[PathBuf::from("/s/aaa-in")], false).unwrap_err();
        assert!(err.message.contains("missing field `count`"), "{err}");
    }

    #[test]
    fn resolving_refuses_a_symlink_out_of_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("aaa-in");
        std::fs::create_dir(&entry).unwrap();
        std::fs::write(entry.join("ok"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", entry.join("out")).unwrap();
        let inputs = [entry.clone()];
        #[derive(Deserialize)]
        struct One {
            p: StorePath,
        }
        let good = drv(&[("p", entry.join("ok").to_str().unwrap())]);
        let one: One = parse(&good, &inputs).unwrap();
        assert!(one.p.join("x").is_ok());
        let bad = drv(&[("p", entry.join("out/passwd").to_str().unwrap())]);
        let err = parse::<One>(&bad, &inputs).err().unwrap();
        assert!(err.message.contains("outside the input"), "{err}");
        let whole: One = parse(&drv(&[("p", entry.to_str().unwrap())]), &inputs).unwrap();
        assert!(whole.p.join("out/passwd").is_err());
        assert!(whole.p.join("../x").is_err());
    }
}
