//! The permissions file (`--permissions`, docs/BRIDGE.md "Permissions"): TOML read into the
//! core's [`Rules`], with each collection's JSON Schema compiled by the `jsonschema` crate. Every
//! mistake is found at start-up and named by its line (TOML syntax and types) or its key (an
//! undefined role, an `owner` grant without an owner field, a schema that does not compile).
//!
//! ```toml
//! default = "deny"            # collections not listed: "deny" (the default) or "allow"
//! [roles]
//! admin = ["alice"]
//! [collections.tasks]
//! insert = ["*"]
//! update = ["owner", "@admin"]
//! owner_field = "owner"
//! schema = "task.schema.json" # relative to this file; or an inline table
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vmm_protocol::bridge::{CollectionRules, Grant, Rules, Schema, Unlisted};
use vmm_protocol::value::{Document, Value};
use vmm_protocol::Violation;

/// Why the permissions file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PermissionsError {
    /// The file (or a schema file it names) could not be read.
    #[error("cannot read the permissions file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("permissions file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// A rule cannot be used.
    #[error("permissions file {}: {key}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, as `collections.tasks.update`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The rules `path` declares; no file: [`Rules::default`], which allows everything.
pub fn load(path: Option<&Path>) -> Result<Rules, PermissionsError> {
    let Some(path) = path else { return Ok(Rules::default()) };
    let text =
        std::fs::read_to_string(path).map_err(|source| PermissionsError::Read { path: path.to_path_buf(), source })?;
    parse(&text, path)
}

/// The rules of a permissions file's `text`; `path` names it in errors and anchors relative
/// schema paths.
pub fn parse(text: &str, path: &Path) -> Result<Rules, PermissionsError> {
    let file: File = toml::from_str(text).map_err(|e| PermissionsError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let invalid = |key: String, message: String| PermissionsError::Invalid { path: path.to_path_buf(), key, message };
    let mut collections = BTreeMap::new();
    for (name, c) in file.collections {
        let key = |k: &str| format!("collections.{name}.{k}");
        let grants = |k: &str, list: Vec<String>| -> Result<Vec<Grant>, PermissionsError> {
            list.iter().map(|g| Grant::parse(g).map_err(|m| invalid(key(k), m))).collect()
        };
        let schema = match c.schema {
            None => None,
            Some(source) => Some(compile(source, path).map_err(|m| invalid(key("schema"), m))?),
        };
        let rules = CollectionRules {
            insert: grants("insert", c.insert)?,
            update: grants("update", c.update)?,
            replace: grants("replace", c.replace)?,
            delete: grants("delete", c.delete)?,
            read: grants("read", c.read)?,
            owner_field: c.owner_field,
            owner_override: grants("owner_override", c.owner_override)?,
            schema,
        };
        collections.insert(name, rules);
    }
    let unlisted = match file.default {
        DefaultAccess::Allow => Unlisted::Allow,
        DefaultAccess::Deny => Unlisted::Deny,
    };
    Rules::new(unlisted, file.roles, collections).map_err(|e| invalid(e.key, e.message))
}

/// The file's keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default: DefaultAccess,
    #[serde(default)]
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    collections: BTreeMap<String, Collection>,
}

/// What happens to a collection the file does not list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DefaultAccess {
    Allow,
    #[default]
    Deny,
}

/// One collection's keys; a grant list left out grants nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Collection {
    #[serde(default)]
    insert: Vec<String>,
    #[serde(default)]
    update: Vec<String>,
    #[serde(default)]
    replace: Vec<String>,
    #[serde(default)]
    delete: Vec<String>,
    #[serde(default)]
    read: Vec<String>,
    owner_field: Option<String>,
    #[serde(default)]
    owner_override: Vec<String>,
    schema: Option<SchemaSource>,
}

/// `schema`: a path to a JSON file (relative to the permissions file), or the schema inline.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SchemaSource {
    Path(PathBuf),
    Inline(toml::Table),
}

/// A compiled JSON Schema.
struct JsonSchema(jsonschema::Validator);

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonSchema")
    }
}

impl Schema for JsonSchema {
    fn check(&self, doc: &Document) -> Result<(), Violation> {
        let instance = Value::Object(doc.clone());
        let Err(error) = self.0.validate(&instance) else { return Ok(()) };
        // Masked: the message never echoes the document's value (which may be large).
        let violation = Violation::invalid_document(format!("the collection's schema: {}", error.masked()));
        let path = dotted(error.instance_path().as_str());
        Err(if path.is_empty() { violation } else { violation.at(path) })
    }
}

fn compile(source: SchemaSource, permissions: &Path) -> Result<Arc<dyn Schema>, String> {
    let schema: serde_json::Value = match source {
        SchemaSource::Path(file) => {
            let file = permissions.parent().unwrap_or(Path::new(".")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?
        }
        SchemaSource::Inline(table) => serde_json::to_value(table).map_err(|e| e.to_string())?,
    };
    let validator = jsonschema::validator_for(&schema).map_err(|e| format!("not a usable JSON Schema: {e}"))?;
    Ok(Arc::new(JsonSchema(validator)))
}

/// A JSON pointer (`/tags/0`) as a dotted path (`tags.0`).
fn dotted(pointer: &str) -> String {
    let segments = pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~"));
    segments.collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Result<Rules, PermissionsError> {
        parse(text, Path::new("/nonexistent/permissions.toml"))
    }

    fn doc(json: serde_json::Value) -> Document {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn the_example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/permissions.toml");
        let rules = load(Some(&path)).unwrap();
        assert!(rules.collection("tasks").is_some_and(|c| c.owner_field.as_deref() == Some("owner")));
        assert!(!rules.may_read("anyone", "unlisted"));
    }

    #[test]
    fn no_file_allows_everything() {
        assert!(load(None).unwrap().is_open());
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let e = rules("[collections.tasks]\ninsert = [\"*\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = rules("[collections.tasks]\ninsrt = [\"*\"]\n").unwrap_err().to_string();
        assert!(e.contains("insrt") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_bad_rule_names_its_key() {
        let e = rules("[collections.tasks]\nupdate = [\"@admin\"]\n").unwrap_err();
        assert!(matches!(&e, PermissionsError::Invalid { key, .. } if key == "collections.tasks.update"), "{e}");
        let e = rules("[collections.tasks]\ndelete = [\"a b\"]\n").unwrap_err();
        assert!(matches!(&e, PermissionsError::Invalid { key, .. } if key == "collections.tasks.delete"), "{e}");
        let e = rules("[collections.tasks]\nschema = { type = 5 }\n").unwrap_err();
        assert!(matches!(&e, PermissionsError::Invalid { key, .. } if key == "collections.tasks.schema"), "{e}");
        let e = rules("[collections.tasks]\nschema = \"missing.json\"\n").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/missing.json"), "{e}");
    }

    #[test]
    fn an_inline_schema_reports_the_dotted_path_without_echoing_the_value() {
        let r = rules(
            "default = \"allow\"\n[collections.tasks]\ninsert = [\"*\"]\n\
             [collections.tasks.schema]\ntype = \"object\"\nrequired = [\"title\"]\n\
             properties = { title = { type = \"string\" }, tags = { type = \"array\", items = { type = \"string\" } } }\n",
        )
        .unwrap();
        let schema = r.collection("tasks").unwrap().schema.clone().unwrap();
        assert_eq!(schema.check(&doc(serde_json::json!({"title": "a", "tags": ["x"]}))), Ok(()));
        let secret = "s".repeat(1000);
        let v = schema.check(&doc(serde_json::json!({"title": "a", "tags": ["x", {"k": secret}]}))).unwrap_err();
        assert_eq!(v.path(), Some("tags.1"));
        assert!(!v.message().contains("sss"), "{}", v.message());
        let v = schema.check(&doc(serde_json::json!({"tags": []}))).unwrap_err();
        assert_eq!(v.path(), None, "{v}");
        assert!(v.message().contains("title"), "{v}");
    }

    #[test]
    fn the_bridge_refuses_to_start_with_a_bad_file() {
        let path = std::env::temp_dir().join(format!("vmm-permissions-{}.toml", std::process::id()));
        std::fs::write(&path, "[collections.tasks]\ndelete = [\"owner\"]\n").unwrap();
        let args = ["vmm-bridge", "--permissions", path.to_str().unwrap()];
        let e = crate::Config::load_from(args).unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert!(matches!(e, crate::config::ConfigError::Permissions(_)), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("collections.tasks.delete") && text.contains("owner_field"), "{text}");
    }

    #[test]
    fn json_pointers_become_dotted_paths() {
        assert_eq!(dotted(""), "");
        assert_eq!(dotted("/a/0/b~1c~0d"), "a.0.b/c~d");
    }
}
